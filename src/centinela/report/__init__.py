"""The analyst's first read: one self-contained HTML page (no external links, opens offline).

>>> from centinela.model import Outputs
>>> html = render_report(None, Outputs(stages={"track": "ran"}))
>>> "<html" in html and "track" in html
True
"""
from __future__ import annotations

from centinela.report.html import read_leak_table, render_report

__all__ = ["read_leak_table", "render_report"]
