"""The README's concept example runs as written and shows what it says."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_concept_example_runs():
    blocks = re.findall(r"```python\n(.+?)\n```", (ROOT / "README.md").read_text(), flags=re.S)
    code = next(b for b in blocks if "bx.Tcav" in b)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    result = namespace["tcav_result"]
    assert result.concepts == ["sevens", "zeros"]
    assert result.mean[0] == 1.0 and result.significant.tolist() == [True, False]
    proba = namespace["mlp"].predict_proba(namespace["images"])
    assert proba[:, 3].min() > 0.9
    assert namespace["top"].indices.shape == (32, 5)
    assert namespace["indices"][:, 0].tolist() == [0, 1, 2]  # each digit is its own nearest
