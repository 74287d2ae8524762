"""Unit tests of tools/readme.py: the Apps page it writes (static/description/index.html)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

import readme  # noqa: E402


def test_the_apps_page_has_no_xml_declaration():
    # Odoo 17+ logs a DeprecationWarning (a WARNING) on each install and update that
    # reads a module description starting with one: a clean start has none
    page = readme.html(readme.build())
    assert page.startswith("<!DOCTYPE html")
    assert "<?xml" not in page
    assert (readme.ROOT / "static" / "description" / "index.html").read_text(encoding="utf-8") == page
