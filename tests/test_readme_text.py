"""The README's text example runs as written."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_text_example_runs(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.+?)\n```", (ROOT / "README.md").read_text(), flags=re.S)
    code = next(b for b in blocks if "bx.maskers.Text" in b)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["anchor"].success
    assert (tmp_path / "review.html").read_text().count("class='bx-doc'") == 2
    fine = namespace["fine"]
    assert fine.meta["n_model_rows"] == 800 and fine.values.shape[1] > 150


def test_readme_image_example_runs(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.+?)\n```", (ROOT / "README.md").read_text(), flags=re.S)
    code = next(b for b in blocks if "bx.maskers.Image" in b)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    page = (tmp_path / "cat.html").read_text()
    # The image, then LIME's and SHAP's maps and top superpixels, occlusion's and RISE's maps.
    assert page.count("<img ") == 7
    occlusion = namespace["occlusion"]
    assert occlusion.values.shape == (1, 75, 113, 1)
    # The model reads the top-left 40 x 60 pixels only: no occlusion mass elsewhere.
    assert (occlusion.values[0, 48:, :, 0] == 0).all() and (
        occlusion.values[0, :, 64:, 0] == 0
    ).all()
