"""The command line: the demo runs end to end and writes its report (explain: test_cli_explain)."""

import contextlib
import io
import json
import os
from pathlib import Path

import pytest

import blackbox_xai as bx
from blackbox_xai.cli import main


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo at small sizes, run once: its folder and what it printed."""
    out = tmp_path_factory.mktemp("demo")
    printed = io.StringIO()
    args = ["demo", "--rows", "6", "--anchors", "2", "--background", "8", "--n-evals", "200"]
    with contextlib.redirect_stdout(printed):
        assert main([*args, "--out", str(out)]) == 0
    return out, printed.getvalue()


def test_demo_writes_json_and_html(demo):
    out, printed = demo
    assert "max |ONNX - sklearn|" in printed and "Kernel SHAP values for 6 rows" in printed
    assert printed.count("anchor: IF") == 2
    expl = bx.Explanation.from_json(out / "explanation.json")
    assert expl.values.shape == (6, 30, 2) and expl.stderr is not None
    # Efficiency: the report's numbers add up to the model's prediction.
    total = expl.values.sum(axis=1) + expl.base_values
    assert abs(total.sum(axis=1) - 1).max() < 1e-5
    html = (out / "report.html").read_text()
    assert "<table" in html and "<h3>Anchors</h3>" in html
    # The text part: bundled reviews, an ONNX string-input export, token highlights.
    assert "exported to ONNX with a string input" in printed
    assert "review 1:" in printed and "anchor of review 0: AnchorExplanation(IF" in printed
    assert html.count("class='bx-doc'") == 4 and "class='bx-tok bx-anchor'" in html
    assert json.loads((out / "explanation.json").read_text())["method"] == "kernel_shap"
    # The gradient part: a CNN on digits, exported to ONNX, four gradient methods.
    assert "trained a small CNN on 8x8 digits (held-out accuracy 0.9" in printed
    for method in ("saliency", "integrated gradients", "SmoothGrad", "Grad-CAM"):
        assert f"    {method}: maps of shape" in printed
    assert "occlusion (2x2 windows) and RISE (1000 masks) of class" in printed


#: Where the README's screenshots of the demo report live; the test writes them there
#: only when asked (BX_UPDATE_SCREENSHOTS=1), so a test run leaves the checkout as it was.
COMMITTED_SCREENSHOTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


def test_demo_report_in_a_browser(demo, render_html, tmp_path):
    out, _ = demo
    update = os.environ.get("BX_UPDATE_SCREENSHOTS") == "1"
    screenshots = COMMITTED_SCREENSHOTS if update else tmp_path
    page = render_html(
        (out / "report.html").read_text(), screenshot=screenshots / "demo_report.png"
    )
    top = {"x": 0, "y": 0, "width": 1100, "height": 2000}
    page.page.screenshot(path=str(screenshots / "demo_report_top.png"), clip=top, full_page=True)
    assert page.errors == []
    p = page.page
    methods = [r.query_selector_all("td")[1].inner_text() for r in p.query_selector_all(
        ".bx-header tr")[1:]]  # fmt: skip
    # every method of the package that the demo can show, in one report
    assert methods == [
        "kernel_shap",
        "lime",
        "anchors",
        "tree surrogate",
        "kernel_shap",
        "anchors",
        "saliency",
        "integrated_gradients",
        "smoothgrad",
        "grad_cam",
        "occlusion",
        "rise",
    ]
    sections = p.query_selector_all("section.bx-section")
    assert len(sections) == len(methods)
    reads = [s.query_selector(".bx-read").inner_text() for s in sections]
    assert all(r.startswith("How to read this.") for r in reads)
    assert len(set(reads[-6:-2])) == 4  # each gradient method says what its maps mean
    # every figure present and drawn: 3 waterfalls + beeswarm + importance + dependence
    # (Kernel SHAP), 2 bars (LIME), 2 anchor cards, the tree, 1 bar + the review anchor's
    # card, 4 gradient maps
    images = p.query_selector_all(".bx-fig img")
    assert len(images) == 6 + 2 + 2 + 1 + 2 + 4
    # occlusion's and RISE's sections: each digit and its overlay (with its colour bar)
    overlays = p.query_selector_all(".bx-images img")
    assert len(overlays) >= 2 * 4 * 2
    assert all(img.evaluate("i => i.complete && i.naturalWidth > 0") for img in overlays)
    assert all(img.evaluate("i => i.complete && i.naturalWidth > 100") for img in images)
    assert (screenshots / "demo_report.png").stat().st_size > 10_000
