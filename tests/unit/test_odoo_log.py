"""Unit tests of tools/odoo_log.py: how the test driver counts an Odoo run."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

import odoo_log  # noqa: E402

T = "2026-11-30 14:56:23,854 8682"
RESULT = f"{T} INFO db odoo.tests.result: {{}} failed, {{}} error(s) of {{}} tests when loading database 'db'"


def count(*lines, rc=0):
    summary = odoo_log.summarize("\n".join(lines), rc, "rest_api")
    return summary.passed, summary.failed


def test_a_clean_run():
    assert count(RESULT.format(0, 0, 12)) == (12, 0)


def test_failures_errors_and_skips_count_as_failed():
    lines = [
        f"{T} ERROR db odoo.addons.rest_api.tests.test_x: FAIL: TestX.test_a",
        "Traceback (most recent call last):",
        f"{T} INFO db odoo.addons.rest_api.tests.test_ui: skipped TestUi.test_tour : Chrome not found",
        f"{T} ERROR db odoo.modules.loading: Module rest_api: 1 failures, 1 errors of 12 tests",
        RESULT.format(1, 1, 12),
    ]
    summary = odoo_log.summarize("\n".join(lines), 1, "rest_api")
    assert (summary.passed, summary.failed) == (9, 3)
    assert "TestX.test_a" in summary.report() and "skipped TestUi.test_tour" in summary.report()


def test_what_odoo_does_not_count_is_one_failure_more():
    assert count(rc=1) == (0, 1)  # no result line: Odoo crashed
    assert count(RESULT.format(0, 0, 0)) == (0, 1)  # nothing collected
    assert count(RESULT.format(0, 0, 5), rc=1) == (5, 1)  # a non-zero exit
    assert count(f"{T} ERROR db odoo.modules.registry: Failed to load registry", RESULT.format(0, 0, 5)) == (
        5,
        1,
    )
    assert count(f"{T} CRITICAL db odoo.service.server: boom", RESULT.format(0, 0, 5)) == (5, 1)
