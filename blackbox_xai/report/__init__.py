"""Rendering of results: self-contained HTML pages (and, later, figures)."""

from .html import anchors_html, explanation_html, html_page

__all__ = ["anchors_html", "explanation_html", "html_page"]
