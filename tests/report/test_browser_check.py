"""The browser check itself: it sees console errors, scripts and external requests."""

from __future__ import annotations

from typing import Any


def test_the_browser_check_can_fail(render_html: Any) -> None:
    page = render_html("<p id='t'>ok</p><script>console.error('boom')</script>")
    assert page.errors == ["boom"]
    assert page.page.inner_text("#t") == "ok"


def test_an_external_asset_is_an_error(render_html: Any) -> None:
    page = render_html("<img src='https://example.invalid/x.png'>")
    assert any("external request" in e for e in page.errors)


def test_escaped_markup_is_shown_not_run(render_html: Any) -> None:
    page = render_html("<p id='t'>&lt;script&gt;alert(1)&lt;/script&gt;</p>")
    assert page.page.inner_text("#t") == "<script>alert(1)</script>"
    assert page.errors == []
