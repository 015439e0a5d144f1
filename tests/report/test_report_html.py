"""Report pages: a header that says what was explained, sections with figures, in a browser."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import blackbox_xai as bx
from blackbox_xai.report import (
    anchors_section,
    describe,
    explanation_section,
    report_page,
    surrogate_section,
)

NAMES = ["age <years>", "dose & rate", "x'2", "x3"]


def _model(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X)
    p = 1 / (1 + np.exp(-(2 * X[:, 0] - X[:, 1] + 0.5 * X[:, 2] * X[:, 3])))
    return np.c_[1 - p, p]


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    return np.random.default_rng(0).uniform(-1, 1, (200, 4))


@pytest.fixture(scope="module")
def kernel(data: np.ndarray) -> bx.Explanation:
    masker = bx.Tabular(data[:20], feature_names=NAMES)
    return bx.KernelShap(_model, masker, seed=0).explain(data[20:28], n_evals=16, tol=0.5)


def test_describe_states_the_budget_and_the_uncertainty(kernel: bx.Explanation, data):
    budget, uncertainty = describe(kernel)
    assert budget.startswith("16 coalitions per row") and "model rows in all" in budget
    se = kernel.stderr
    assert f"largest {float(se.max()):.4g}" in uncertainty
    assert f"{sum(kernel.meta['converged'])} of 8 rows reached the tolerance 0.5" in uncertainty
    exact = bx.ExactShapley(_model, bx.Tabular(data[:10])).explain(data[:2])
    assert describe(exact)[1] == "exact: every coalition enumerated, no sampling error"
    plain = bx.Explanation(np.zeros((1, 2, 1)), np.zeros((1, 1)), method="saliency")
    assert describe(plain) == ("not recorded", "deterministic: no sampling, no error estimate")


def test_repr_html_is_the_section_with_its_figures(kernel: bx.Explanation):
    fragment = kernel._repr_html_()
    assert fragment == kernel.to_html()
    assert fragment.startswith("<style>") and "<script" not in fragment
    # 3 waterfalls, beeswarm, importance, dependence: all embedded, nothing external
    assert fragment.count("<img src='data:image/svg+xml;base64,") == 6
    assert "How to read this." in fragment and "age &lt;years&gt;" in fragment
    assert "<years>" not in fragment
    bare = kernel.to_html(figures=False)
    assert "<img" not in bare and "pip install &#x27;blackbox_xai[plot]&#x27;" not in bare
    assert "blackbox_xai[plot]" in bare


def test_report_page_in_a_browser(render_html: Any, kernel, data, tmp_path):
    anchors = bx.Anchors(_model, data, seed=0).explain_many(data[20:22])
    surrogate = bx.GlobalSurrogate(_model, kind="tree", max_depth=2).fit(data[:150])
    fidelity = surrogate.fidelity(data[150:])
    sections = [
        explanation_section(kernel, title="<script>console.error('x')</script>"),
        anchors_section(anchors),
        surrogate_section(surrogate, fidelity),
    ]
    page_html = report_page(
        "report <b>test</b>", sections, model="a <logistic> model", data="uniform & random"
    )
    assert "<script>" not in page_html
    page = render_html(page_html, screenshot=tmp_path / "report.png")
    assert page.errors == []
    p = page.page
    assert p.inner_text("h1") == "report <b>test</b>"
    header = p.inner_text(".bx-header")
    assert "Model: a <logistic> model" in header and "Data: uniform & random" in header
    rows = p.query_selector_all(".bx-header tr")[1:]
    assert [r.query_selector_all("td")[1].inner_text() for r in rows] == [
        "kernel_shap",
        "anchors",
        "tree surrogate",
    ]
    assert f"held-out r2 {fidelity.held_out['r2']:.3f}" in rows[2].inner_text()
    assert len(p.query_selector_all(".bx-read")) == 3
    images = p.query_selector_all(".bx-fig img")
    assert len(images) == 6 + 2 + 1  # kernel's figures, two anchor cards, the tree
    # every figure decoded and drawn (a broken data URI has no natural size)
    assert all(img.evaluate("i => i.complete && i.naturalWidth > 100") for img in images)
    assert p.inner_text("section h2") == "<script>console.error('x')</script>"


def test_occlusion_rows_get_signed_bars_and_their_own_reading():
    X = np.random.default_rng(0).random((6, 4))
    expl = bx.Occlusion(lambda X: (X @ np.arange(4.0))[:, None], X[:5]).explain(X[:2])
    section = explanation_section(expl, figures=False)
    # Occlusion drops do not add up to the prediction: no Shapley reading, no waterfall.
    assert "Occlusion values do not add up to the prediction" in section.read
    assert "add up to the output minus the base value" not in section.read


def test_image_sections_draw_only_when_figures_are_asked_for():
    pytest.importorskip("skimage")
    images = np.random.default_rng(0).random((5, 8, 8, 3))
    expl = bx.Occlusion(lambda b: b.mean(axis=(1, 2, 3))[:, None], bx.maskers.Image(fill=0.0),
                        window=4).explain(images)  # fmt: skip
    assert "<img" not in explanation_section(expl, figures=False).body
    drawn = explanation_section(expl, figures=True, max_rows=2).body
    # two images shown (max_rows), each with its overlay
    assert drawn.count("<img") == 2 * 2
