"""Sphinx configuration: Markdown pages (MyST) with the Furo theme; the reference pages of
options, variables, fixtures and markers are generated before each build."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE / "_ext"))

import livechat_reference  # noqa: E402

livechat_reference.write(HERE / "reference")

project = "pytest-livechat-token"
author = "the pytest-livechat-token developers"
copyright = "2026, the pytest-livechat-token developers"
extensions = ["myst_parser"]
myst_heading_anchors = 3
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build", "_ext", "README.md"]
html_theme = "furo"
html_title = "pytest-livechat-token"
html_static_path: list[str] = []
suppress_warnings: list[str] = []
nitpicky = True
