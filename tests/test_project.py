"""Project contracts: CI runs the README's test command; importing needs only the core.

The README's Python examples are run by ``test_readme.py``.
"""

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
