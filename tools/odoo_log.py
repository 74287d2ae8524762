"""Read an Odoo test run's log: how many tests passed and failed, and why.

Odoo's runner ends with ``odoo.tests.result: N failed, N error(s) of N tests``.
What it does not count is counted here as failed too:

- a test it skipped (a browser tour skips when Chromium or websocket-client
  is missing);
- no result line (Odoo crashed), zero tests (none collected), a non-zero exit;
- an ERROR or CRITICAL line outside a reported test failure (a module that
  failed to load, a traceback in a server thread): one failure for all.

``problems`` finds what a clean start (an install, a server coming up) must
not log: any WARNING, ERROR or CRITICAL entry, or a Python warning printed
outside Odoo's logging.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# "2026-11-22 06:01:33,437 8295 ERROR dbname odoo.addons.x.tests.test_x: FAIL: TestX.test_fail"
HEAD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \d+ (\S+) (\S+) (\S+?): ?(.*)$")
RESULT = re.compile(r"(\d+) failed, (\d+) error\(s\) of (\d+) tests when loading database")
# "/usr/lib/python3/x.py:12: DeprecationWarning: ...": a warning Python printed itself
PY_WARNING = re.compile(r"^\S+:\d+: \w*Warning: ")
PROBLEM_LEVELS = ("WARNING", "ERROR", "CRITICAL")
BLOCK_LINES = 60


@dataclass
class Summary:
    passed: int = 0
    failed: int = 0
    reasons: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    blocks: list[str] = field(default_factory=list)  # failing parts of the log, to show

    def report(self) -> str:
        lines = []
        if self.skipped:
            lines.append(f"odoo: {len(self.skipped)} SKIPPED test(s), counted as FAILED:")
            lines += [f"    skipped {s}" for s in self.skipped]
        if self.blocks:
            lines.append("odoo: failing blocks of the log:")
            lines += self.blocks[:40]
        if self.reasons:
            lines += ["!" * 78, *(f"!!! odoo: {r}" for r in self.reasons), "!" * 78]
        return "\n".join(lines)


def summarize(text: str, returncode: int, module: str) -> Summary:
    """Count the tests of ``module`` in the log ``text`` of a run that exited with ``returncode``."""
    lines = text.splitlines()
    test_logger = re.compile(rf"^odoo\.addons\.{re.escape(module)}\.tests(\.|$)")
    summary, result, install_errors, other_errors = Summary(), None, 0, 0
    failing = []
    for index, line in enumerate(lines):
        match = HEAD.match(line)
        if not match:
            continue
        level, _db, logger, message = match.groups()
        if logger == "odoo.tests.result":
            result = RESULT.search(message) or result
        elif level == "INFO" and message.startswith("skipped ") and " : " in message:
            summary.skipped.append(message[len("skipped ") :])
        elif level in ("ERROR", "CRITICAL"):
            if test_logger.match(logger) and message.startswith(("FAIL:", "ERROR:")):
                failing.append(index)
            elif logger == "odoo.modules.loading" and (
                re.match(r"Module \S+: \d+ failures, \d+ errors of \d+ tests", message)
                or message.startswith("At least one test failed")
            ):
                continue  # Odoo's own summary of failures already counted
            else:
                failing.append(index)
                if logger.startswith(("odoo.modules.loading", "odoo.modules.registry")):
                    install_errors += 1
                else:
                    other_errors += 1
    summary.blocks = [_block(lines, index) for index in failing]

    if result is None:
        failed_tests = errors = total = 0
        summary.reasons.append(
            "no 'odoo.tests.result' line in the log: Odoo crashed or the tests did not run"
        )
    else:
        failed_tests, errors, total = (int(x) for x in result.groups())
        if total == 0:
            summary.reasons.append(
                f"ZERO tests ran for /{module}: are the test modules imported by tests/__init__.py and tagged?"
            )
    summary.failed = failed_tests + errors + len(summary.skipped)
    summary.passed = max(total - summary.failed, 0)
    if install_errors:
        summary.reasons.append(f"the module failed to load or install ({install_errors} ERROR line(s))")
    if other_errors:
        summary.reasons.append(f"{other_errors} ERROR/CRITICAL log line(s) outside of test failures")
    if returncode != 0 and summary.failed == 0:
        summary.reasons.append(
            f"Odoo exited with code {returncode}" + (" (timeout)" if returncode == -9 else "")
        )
    summary.failed += 1 if summary.reasons else 0
    return summary


def _block(lines: list[str], index: int) -> str:
    out = [lines[index]]
    for line in lines[index + 1 :]:
        if HEAD.match(line) or len(out) >= BLOCK_LINES:
            break
        out.append(line)
    return "\n".join("    " + line for line in out)


def problems(text: str) -> list[str]:
    """The WARNING, ERROR and CRITICAL entries of the log ``text``, each with the lines
    that continue it (a traceback, a warning's source line), and the Python warnings
    printed outside Odoo's logging: each a block of indented lines, in log order."""
    lines = text.splitlines()
    found, in_problem = [], False
    for index, line in enumerate(lines):
        match = HEAD.match(line)
        if match:
            in_problem = match.group(1) in PROBLEM_LEVELS
            if in_problem:
                found.append(_block(lines, index))
        elif not in_problem and PY_WARNING.match(line):
            source = lines[index + 1 : index + 2]  # Python prints the source line under it, indented
            block = [line, *(more for more in source if more[:1].isspace())]
            found.append("\n".join("    " + part for part in block))
    return found
