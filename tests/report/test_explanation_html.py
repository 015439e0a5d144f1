"""The attribution tables: rows that add up, the class named, the numbers explained."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

import blackbox_xai as bx
from blackbox_xai.report import html_page


def _explanation() -> bx.Explanation:
    rng = np.random.default_rng(0)
    values = rng.normal(scale=0.01, size=(2, 30, 2))
    values[0, :, 0] += 0.02  # row 0: class 'benign' predicted; row 1: 'malignant'
    values[1, :, 1] += 0.02
    return bx.Explanation(
        values, np.full((2, 2), 0.5), data=rng.normal(size=(2, 30)),
        feature_names=[f"f{j}" for j in range(30)], output_names=["benign", "malignant"],
        stderr=np.full((2, 30, 2), 0.001), method="kernel_shap",
    )  # fmt: skip


def _cells(table: str) -> list[list[str]]:
    rows = re.findall(r"<tr>(.*?)</tr>", table)
    return [re.findall(r"<td[^>]*>(.*?)</td>", r) for r in rows[1:]]


def test_shown_rows_add_up_to_the_total_with_an_other_features_row():
    expl = _explanation()
    html = expl.to_html(max_features=10)
    tables = re.findall(r"<table class='bx'>.*?</table>", html, flags=re.S)
    assert len(tables) == 2
    for row, table in enumerate(tables):
        cells = _cells(table)
        assert len(cells) == 11 and cells[-1][0] == "<i>other 20 features</i>"
        shown = sum(float(c[3]) for c in cells)
        total = float(re.search(r"base \+ attributions ([-\d.e]+)<", table).group(1))
        o = row  # the predicted class of each row
        assert abs(0.5 + shown - total) < 1e-3  # the numbers as printed (4 digits)
        assert abs(total - (0.5 + expl.values[row, :, o].sum())) < 1e-3
    # Each row names its predicted class, not the last output.
    assert "row 0, predicted class benign:" in tables[0]
    assert "row 1, predicted class malignant:" in tables[1]
    assert "<h3>kernel_shap: attributions to each row's predicted class</h3>" in html


def test_the_legend_says_what_base_value_attribution_and_stderr_mean():
    html = _explanation().to_html()
    legend = re.search(r"<p class='bx-legend'>(.*?)</p>", html).group(1)
    assert "<b>base value</b>: the model&#x27;s mean output over the background rows" in legend
    assert "<b>attribution</b>: how much the feature" in legend
    assert "<b>std. error</b>: the standard error of an estimated attribution" in legend
    no_se = bx.Explanation(np.ones((1, 2, 1)), np.zeros((1, 1)), method="lime").to_html()
    assert "std. error" not in no_se and "intercept of the local linear model" in no_se


def test_the_table_renders_in_a_browser(render_html: Any):
    page = render_html(html_page("t", [_explanation().to_html(output="malignant")]))
    assert page.errors == []
    text = page.page.inner_text("body")
    assert "other 20 features" in text and "row 0, output malignant" in text
