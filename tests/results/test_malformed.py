"""Malformed results: from_json names the problem, to_html shows NaN values."""

import json

import numpy as np
import pytest

import blackbox_xai as bx


@pytest.fixture
def good():
    e = bx.Explanation(np.ones((1, 2, 1)), np.zeros((1, 1)), feature_names=["a", "b"])
    return json.loads(e.to_json())


def test_malformed_json_files_are_named(good, tmp_path):
    cases = {
        "[1, 2]": "the JSON holds a list, not a Explanation object",
        "{not json": "not valid JSON",
        json.dumps(
            {k: v for k, v in good.items() if k != "values"}
        ): r"lacks the key\(s\) \['values'\]",
        json.dumps({**good, "version": "2"}): r"'version' must be an integer, got '2'",
        json.dumps(
            {**good, "feature_names": "ab"}
        ): r"'feature_names' must be a list of names, got a str \('ab'\)",
    }
    for text, message in cases.items():
        path = tmp_path / "e.json"
        path.write_text(text)
        with pytest.raises(ValueError, match=message):
            bx.Explanation.from_json(path)
    assert bx.Explanation.from_json(json.dumps(good)).feature_names == ["a", "b"]


def test_html_of_nan_values_shows_nan():
    values = np.array([[[np.nan], [1.0]]])
    e = bx.Explanation(values, np.zeros((1, 1)), feature_names=["a", "b"], stderr=values * 0)
    page = e.to_html()
    assert "<td class='num'>+nan</td>" in page and "width:120px" in page
