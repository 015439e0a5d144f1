"""Project contracts: CI runs the README's test command; importing needs only the core."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```bash\n(.+?)\n```", text)


def test_ci_runs_exactly_the_readme_test_command():
    demo, test = _readme_commands()[:2]
    assert "blackbox-xai demo" in demo
    assert test in (ROOT / ".ci" / "run").read_text().splitlines()


def test_import_needs_only_the_core_dependencies():
    code = (
        "import sys, blackbox_xai\n"
        "heavy = {'onnx', 'onnxruntime', 'skl2onnx', 'nltk', 'skimage', 'matplotlib', 'dask', 'torch'}  # pandas: sklearn imports it when present\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_readme_python_example_runs(tmp_path, monkeypatch):
    code = re.findall(r"```python\n(.+?)\n```", (ROOT / "README.md").read_text(), flags=re.S)[0]
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["kernel"].values.shape == (2, 13, 3)
    assert (tmp_path / "wine.json").exists()


def test_readme_gradient_example_runs():
    code = re.findall(r"```python\n(.+?)\n```", (ROOT / "README.md").read_text(), flags=re.S)[1]
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["saliency"].shape == (4, 64)
    assert namespace["guided"].shape == (4, 64)
