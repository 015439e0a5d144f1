"""Rendering of results: self-contained HTML pages and matplotlib figures (``plots``)."""

from .html import (
    Section,
    anchors_html,
    anchors_section,
    describe,
    explanation_html,
    explanation_section,
    html_page,
    report_page,
    surrogate_section,
)

__all__ = [
    "Section",
    "anchors_html",
    "anchors_section",
    "describe",
    "explanation_html",
    "explanation_section",
    "html_page",
    "report_page",
    "surrogate_section",
]
