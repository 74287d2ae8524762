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


# ---------------------------------------------------------------- a clean start (problems)
def test_a_clean_start_has_no_problems():
    text = "\n".join(
        [
            "Running as user 'root' is a security risk.",
            f"{T} INFO ? odoo: Odoo version 18.0 ",
            f'{T} INFO db werkzeug: 127.0.0.1 - - [30/Nov/2026 14:56:23] "GET /api/docs HTTP/1.1" 200 - 8 0.005 0.040',
            f"{T} INFO db odoo.addons.rest_api.controllers.dispatcher: 404 No res.partner record: WARNING",
        ]
    )
    assert odoo_log.problems(text) == []


def test_every_warning_error_and_critical_entry_is_a_problem_with_its_lines():
    text = "\n".join(
        [
            f"{T} INFO db odoo.modules.loading: loading 13 modules...",
            f"{T} WARNING db odoo.addons.base.models.ir_model: Two fields (a, b) of x() have the same label: A.",
            f"{T} WARNING db py.warnings: /odoo/ir_module.py:185: DeprecationWarning: XML declarations",
            "  warnings.warn(",
            f"{T} ERROR db odoo.http: Exception during request handling.",
            "Traceback (most recent call last):",
            "/lib/x.py:3: UserWarning: inside a traceback, not a problem of its own",
            "ValueError: boom",
            f"{T} CRITICAL db odoo.service.server: Failed to initialize database `db`.",
            f"{T} INFO db odoo.modules.loading: Modules loaded.",
        ]
    )
    found = odoo_log.problems(text)
    assert len(found) == 4
    assert "same label" in found[0] and "\n" not in found[0]
    assert found[1].endswith("\n      warnings.warn(")  # the source line, kept with its warning
    assert "Traceback" in found[2] and "ValueError: boom" in found[2]
    assert "CRITICAL" in found[3] and "Modules loaded" not in found[3]


def test_a_python_warning_outside_odoo_logging_is_a_problem():
    text = "\n".join(
        [
            "Running as user 'root' is a security risk.",
            "/venv/lib/python3.11/site-packages/x.py:12: DeprecationWarning: x is deprecated",
            "  import x",
            "something else",
        ]
    )
    assert odoo_log.problems(text) == [
        "    /venv/lib/python3.11/site-packages/x.py:12: DeprecationWarning: x is deprecated\n      import x"
    ]
