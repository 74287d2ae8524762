"""rest_api's test driver: ``make test``, or ``python3 tools/run_tests.py [stage ...]``
inside the project virtualenv (``source tools/setup.sh``).

Stages, in this order (default: all):
  lint   pre-commit run --all-files: ruff, pylint-odoo, OCA's module and .po
         checks, prettier, README.rst against readme/ (.pre-commit-config.yaml)
  unit   pytest tests/unit: pure Python, no Odoo
  odoo   Odoo's runner on a throwaway database (--test-tags /rest_api), then
         i18n/rest_api.pot against a fresh export
  e2e    a live Odoo (--workers=2, and a threaded second server on the same
         database; each with a cron worker, which sends webhooks) and pytest
         tests/e2e; its gevent child must stay up
  setup  the set-up from nothing: a fresh virtualenv from the Odoo tree, the
         addon's wheel built and installed, a database with the addon
A clean start logs no warning: an install (odoo, e2e, setup) and the e2e
servers' start, up to the first test request, must log no WARNING, ERROR or
CRITICAL line (tools/odoo_log.problems); each is one check, its lines shown.
Each stage prints "== stage: <name>" and "stage <name>: N passed, N failed";
the last line is "N passed, N failed" over all stages, and the exit code is 0
only when nothing failed. A test Odoo skips counts as failed (see
tools/odoo_log.py), and so does a pytest run that collects nothing.
Logs go to .reports/. ODOO_TEST_TIMEOUT (s, default 1800) bounds each Odoo run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

import odoo_log  # noqa: E402
from testkit import Cluster, Group, free_port, junit_counts, wait_http  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
REPORTS = ROOT / ".reports"
STAGES = ("lint", "unit", "odoo", "e2e", "setup")
TIMEOUT = int(os.environ.get("ODOO_TEST_TIMEOUT", "1800"))
ODOO_BIN = os.environ.get("ODOO_BIN", "")


def loud(*lines):
    print("!" * 78)
    for line in lines:
        print(f"!!! {line}")
    print("!" * 78)


def run(command, log=None, env=None, cwd=ROOT, timeout=TIMEOUT):
    """Run ``command`` showing its output (and keeping it in ``log``); its exit code."""
    with subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL, text=True, errors="replace") as process:  # fmt: skip
        out = open(log, "w") if log else None  # noqa: SIM115 - closed below
        try:
            for line in process.stdout:
                sys.stdout.write(line)
                if out:
                    out.write(line)
            return process.wait(timeout)
        finally:
            if out:
                out.close()


def clean_start(what, problems):
    """One check: ``what`` (an install, a server's start) logged none of ``problems``
    (tools/odoo_log.problems); the offending lines shown."""
    if not problems:
        print(f"{what}: no WARNING in the log")
        return True
    print(f"{what}: the log has {len(problems)} WARNING/ERROR entries:")
    print("\n".join(problems[:20]))
    loud(f"{what}: {len(problems)} WARNING/ERROR entries in the log (above): a clean start logs none")
    return False


def first_requests(url):
    """What a first visitor asks: Swagger UI's page (/api/docs) and the files it loads,
    then /api/openapi.json; the requests that did not answer 200, as problems."""

    def get(path):
        try:
            with urllib.request.urlopen(url + path, timeout=60) as answer:
                return answer.status, answer.read().decode(errors="replace")
        except urllib.error.HTTPError as error:
            return error.code, ""
        except OSError as error:
            return str(error), ""

    status, page = get("/api/docs")
    answers = {"/api/docs": status}
    files = re.findall(r'(?:src|href)="(/[^"]+)"', page)
    for path in [*files, "/api/openapi.json"]:
        answers[path] = get(path)[0]
    failed = [f"    GET {url}{path}: {code} instead of 200" for path, code in answers.items() if code != 200]
    if not files:
        failed.append(f"    GET {url}/api/docs: no file (src=, href=) in the page")
    return failed


def pytest(name, path, env=None):
    """(passed, failed) of pytest on ``path``; skips are reported, never counted as passed."""
    report = REPORTS / f"{name}.xml"
    report.unlink(missing_ok=True)
    code = run([sys.executable, "-m", "pytest", "-q", str(path), "-p", "no:cacheprovider", f"--junitxml={report}"],
               log=REPORTS / f"{name}.log", env=env)  # fmt: skip
    if code == 5 or not report.exists():
        loud(
            f"{name}: pytest collected NO tests or wrote no report (exit code {code}): counted as 1 failure."
        )
        return 0, 1
    passed, failed, skipped = junit_counts(report)
    if skipped:
        print(f"{name}: WARNING: {skipped} test(s) skipped (not counted as passed)")
    if code != 0 and failed == 0:
        loud(f"{name}: pytest exited with code {code} without reporting a failure: counted as 1 failure.")
        failed = 1
    return passed, failed


class Odoo:
    """Odoo on a throwaway cluster: the tree's own odoo-bin, with this addon in the addons path."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.work = Path(tempfile.mkdtemp(prefix="rest_api_odoo."))
        addon = self.work / "addons" / "rest_api"
        addon.mkdir(parents=True)
        for entry in ROOT.iterdir():  # the checkout as the addon, without .venv, .git, .reports...
            if not entry.name.startswith(".") and entry.name != "build":
                (addon / entry.name).symlink_to(entry)
        tree = Path(ODOO_BIN).resolve().parent
        core = [tree / "addons", tree / "odoo" / "addons"]
        self.addons_path = ",".join(str(p) for p in [*core, self.work / "addons"] if p.is_dir())
        self.env = dict(os.environ, **cluster.env)

    def command(self, *args):
        return [sys.executable, ODOO_BIN, f"--addons-path={self.addons_path}", f"--data-dir={self.work / 'data'}",
                "--db_host=127.0.0.1", f"--db_port={self.cluster.port}", "--db_user=odoo", *args]  # fmt: skip

    def run(self, log, *args):
        return Group(self.command(*args), log, env=self.env).wait(TIMEOUT)

    def serve(self, log, database, workers, cron=0, extra=()):
        """A server on ``database`` (``cron``: its cron workers, which send webhooks;
        ``extra``: more options); (group, url), group None when it did not come up. Its
        log (``--logfile``, which Odoo appends to) starts empty: it holds this run only."""
        log.unlink(missing_ok=True)
        port = free_port()
        group = Group(self.command("-d", database, f"--db-filter=^{database}$", "--http-interface=127.0.0.1",
                                   f"--http-port={port}", f"--gevent-port={free_port()}", f"--workers={workers}",
                                   f"--max-cron-threads={cron}", f"--logfile={log}", "--log-level=info", *extra),
                      Path(f"{log}.out"), env=self.env)  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        # a path of three segments: Odoo works out its map of static folders on the first
        # one, parsing every manifest; several threads of a threaded server doing that at
        # once can fail in CPython 3.11.7's parser ("AST constructor recursion depth
        # mismatch", a 500 of Odoo's, before any route of ours): done once, here
        if wait_http(f"{url}/web/login", group) and wait_http(f"{url}/web/static/warm-up", group, expect=404):
            print(f"e2e: server on {url} up (--workers={workers})")
            return group, url
        print(Path(f"{log}.out").read_text(errors="replace")[-3000:])
        loud(f"the Odoo server on {url} did not answer 200 on /web/login within 120 s")
        group.stop()
        return None, url

    def install(self, log, database):
        """Create ``database`` with rest_api installed: None when that failed, else what
        the install logged that a clean one does not (odoo_log.problems: warnings)."""
        code = self.run(log, "-d", database, "-i", "rest_api", "--without-demo=all", "--stop-after-init",
                        "--max-cron-threads=0", "--no-http")  # fmt: skip
        text = log.read_text(errors="replace")
        if code or re.search(r"^\S+ \S+ \d+ (ERROR|CRITICAL) ", text, re.M):
            print("\n".join("    " + line for line in text.splitlines()[-40:]))
            loud(f"installing rest_api into {database} failed (exit code {code}), see {log}")
            return None
        return odoo_log.problems(text)


# ---------------------------------------------------------------- stages
def stage_lint(context):
    log = REPORTS / "lint.log"
    code = run(["pre-commit", "run", "--all-files", "--show-diff-on-failure", "--color=never"], log=log)
    results = re.findall(r"^(.+?)\.{3,}.*?(Passed|Failed|Skipped)$", log.read_text(), re.M)
    passed = sum(1 for _name, status in results if status == "Passed")
    failed = sum(1 for _name, status in results if status == "Failed")
    if code and not failed:
        loud(f"lint: pre-commit exited with code {code} without a failing hook (see {log})")
        failed = 1
    return passed, failed


def stage_unit(context):
    return pytest("unit", ROOT / "tests" / "unit")


def stage_odoo(context):
    odoo, log = context.odoo(), REPORTS / "odoo-tests.log"
    # Install first, then test on an update of rest_api alone: installing with
    # --test-enable imports the tests of every module on the way (a trimmed
    # Odoo tree lacks what web's tests import).
    install = odoo.install(REPORTS / "odoo-install.log", "rest_api_test")
    if install is None:
        return 0, 1
    clean = clean_start("odoo: installing rest_api", install)
    started = time.monotonic()
    code = odoo.run(log, "-d", "rest_api_test", "-u", "rest_api", "--without-demo=all", "--test-enable",
                    "--test-tags", os.environ.get("REST_API_TEST_TAGS", "/rest_api"), "--stop-after-init", "--log-level=test", f"--http-port={free_port()}",
                    "--max-cron-threads=0")  # fmt: skip
    print(f"odoo: Odoo exited with code {code} after {time.monotonic() - started:.0f} s")
    summary = odoo_log.summarize(log.read_text(errors="replace"), code, "rest_api")
    if summary.report():
        print(summary.report())
    passed, failed = summary.passed, summary.failed
    pot_ok = check_pot(odoo)
    return passed + pot_ok + clean, failed + (not pot_ok) + (not clean)


def check_pot(odoo):
    """i18n/rest_api.pot is what Odoo exports now (its dates aside)."""
    exported = odoo.work / "rest_api.pot"
    odoo.run(REPORTS / "odoo-pot.log", "-d", "rest_api_test", "--i18n-export", str(exported),
             "--modules=rest_api", "--stop-after-init", "--no-http")  # fmt: skip
    kept = ROOT / "i18n" / "rest_api.pot"

    def body(path):
        text = path.read_text() if path.exists() else ""
        return re.sub(r'^"(POT-Creation-Date|PO-Revision-Date): .*$', "", text, flags=re.M)

    if not exported.exists():
        loud("odoo: the .pot export failed, see .reports/odoo-pot.log")
        return False
    if body(exported) != body(kept):
        loud("odoo: i18n/rest_api.pot is out of date: export it again with",
             "  make pot   (the exported file is in .reports/rest_api.pot)")  # fmt: skip
        (REPORTS / "rest_api.pot").write_text(exported.read_text())
        return False
    print("odoo: i18n/rest_api.pot is up to date")
    return True


def stage_e2e(context):
    odoo = context.odoo()
    install = odoo.install(REPORTS / "e2e-install.log", "rest_api_e2e")
    if install is None:
        return 0, 1
    checks = [clean_start("e2e: installing rest_api", install)]
    server_log = REPORTS / "e2e-server.log"
    # both with a cron worker: two servers send webhooks from one outbox
    first, url = odoo.serve(server_log, "rest_api_e2e", workers=2, cron=1)
    second, url2 = (
        odoo.serve(Path(f"{server_log}.2"), "rest_api_e2e", workers=0, cron=1) if first else (None, "")
    )
    # a third server reads from a streaming replica of the database (API.md section 10)
    standby = third = None
    try:
        standby = odoo.cluster.standby()
        print(f"e2e: streaming replica of the cluster on 127.0.0.1:{standby.port}")
    except RuntimeError as exc:
        loud(f"e2e: could not make a streaming replica: {exc}")
    if standby and first:
        third, url3 = odoo.serve(Path(f"{server_log}.replica"), "rest_api_e2e", workers=2,
                                 extra=("--db_replica_host=127.0.0.1", f"--db_replica_port={standby.port}"))  # fmt: skip
    try:
        if not (first and second and third):
            return 0, 1
        # the servers' start, up to the first test request (tests provoke warnings on purpose)
        for log, address in ((server_log, url), (Path(f"{server_log}.2"), url2),
                             (Path(f"{server_log}.replica"), url3)):  # fmt: skip
            checks.append(
                clean_start(f"e2e: starting the server on {address}", startup_problems(log, address))
            )
        env = dict(odoo.env, REST_API_URL=url, REST_API_URL2=url2, REST_API_DB="rest_api_e2e",
                   REST_API_ADMIN_LOGIN="admin", REST_API_ADMIN_PASSWORD="admin", REST_API_LOG=str(server_log),
                   REST_API_PID=str(first.process.pid), REST_API_REPORTS=str(REPORTS),
                   REST_API_REPLICA_URL=url3, REST_API_REPLICA_PGPORT=str(standby.port),
                   REST_API_REPLICA_PGDATA=str(standby.data), REST_API_REPLICA_LOG=str(server_log) + ".replica")  # fmt: skip
        passed, failed = pytest("e2e", ROOT / "tests" / "e2e", env=env)
        # the prefork server's gevent child (websockets, longpolling) must still be up
        if any("gevent" in child.cmdline() for child in psutil.Process(first.process.pid).children()):
            passed += 1
        else:
            loud("e2e: the prefork server's gevent child is not running after the tests")
            failed += 1
    finally:
        for group in (third, second, first):
            if group:
                group.stop()
        if standby:
            standby.stop()
    # no traceback in the server's own output: a gevent child that cannot start
    # is respawned forever and fills it
    tracebacks = Path(f"{server_log}.out").read_text(errors="replace").count("Traceback")
    passed, failed = passed + sum(checks), failed + checks.count(False)
    if tracebacks:
        loud(f"e2e: {tracebacks} traceback(s) in {server_log}.out: a process of the server crashed")
        return passed, failed + 1
    return passed + 1, failed


def startup_problems(log, url):
    """What a server's start logged that a clean one does not: its first requests
    (first_requests) made, its log (``--logfile``) and output (``.out``) up to now."""
    problems = first_requests(url)
    # the last request's line, which Odoo writes once it has answered
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and '"GET /api/openapi.json' not in log.read_text(errors="replace"):
        time.sleep(0.2)
    for path in (log, Path(f"{log}.out")):
        problems += odoo_log.problems(path.read_text(errors="replace"))
    return problems


def stage_setup(context):
    """Build the environment from nothing, as a fresh machine would, and use it."""
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="rest_api_setup."))
    own = str(ROOT / ".venv")
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if not p.startswith(own))
    env = dict(os.environ, REST_API_VENV=str(work / "venv"), PATH=path)
    code = run(["bash", str(ROOT / "tools" / "setup.sh")], log=REPORTS / "setup.log", env=env)
    first = time.monotonic() - started
    if code:
        loud(f"setup: building a fresh virtualenv failed (exit code {code}), see .reports/setup.log")
        return 0, 1
    again = time.monotonic()
    run(["bash", str(ROOT / "tools" / "setup.sh")], env=env)
    repeated = time.monotonic() - again
    print(f"setup: a fresh virtualenv in {first:.0f} s; the repeated set-up in {repeated:.1f} s")
    python = str(work / "venv" / "bin" / "python")
    dist = work / "dist"
    if run(
        [python, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(ROOT)],
        log=REPORTS / "wheel.log",
    ):
        loud("setup: pip could not build the addon's wheel, see .reports/wheel.log")
        return 1, 1
    wheels = list(dist.glob("odoo_addon_rest_api-*.whl"))
    if not wheels or run([python, "-m", "pip", "install", "-q", str(wheels[0])], log=REPORTS / "wheel.log"):
        loud(
            f"setup: no odoo-addon-rest_api wheel was built or it did not install: {[w.name for w in dist.iterdir()]}"
        )
        return 1, 1
    # the wheel's addon, found in Odoo's odoo.addons namespace: no addons path entry for it
    tree = Path(ODOO_BIN).resolve().parent
    log = REPORTS / "setup-install.log"
    cluster = context.cluster()
    command = [python, ODOO_BIN, f"--addons-path={tree / 'addons'}", f"--data-dir={work / 'data'}",
               "--db_host=127.0.0.1", f"--db_port={cluster.port}", "--db_user=odoo", "-d", "rest_api_setup",
               "-i", "rest_api", "--without-demo=all", "--stop-after-init", "--no-http"]  # fmt: skip
    code = Group(command, log, env=dict(os.environ, **cluster.env)).wait(TIMEOUT)
    text = log.read_text(errors="replace")
    if code or "ERROR" in text or "rest_api" not in text:
        print(text[-3000:])
        loud(f"setup: installing the wheel's rest_api into a database failed (exit code {code})")
        return 2, 1
    if not clean_start("setup: installing the wheel's rest_api", odoo_log.problems(text)):
        return 2, 1
    print(f"setup: the wheel {wheels[0].name} installed rest_api into a database")
    subprocess.run(["rm", "-rf", str(work)], check=False)
    return 3, 0


class Context:
    """What the stages share: one cluster, started when first needed."""

    def __init__(self):
        self._cluster = None

    def cluster(self):
        if self._cluster is None:
            self._cluster = Cluster(fast=os.environ.get("REST_API_PG_FAST", "1") == "1")
            self._cluster.start()
            print(f"cluster: PostgreSQL 15 on 127.0.0.1:{self._cluster.port} (data {self._cluster.data})")
        return self._cluster

    def odoo(self):
        return Odoo(self.cluster())

    def close(self):
        if self._cluster:
            self._cluster.stop()


def main(argv):
    wanted = [a for a in argv if not a.startswith("-")] or list(STAGES)
    if unknown := set(wanted) - set(STAGES):
        print(f"run_tests.py: unknown stage(s) {sorted(unknown)}; stages: {' '.join(STAGES)}")
        return 2
    if not ODOO_BIN and {"odoo", "e2e", "setup"} & set(wanted):
        loud("ODOO_BIN is not set: run through `make test` (tools/setup.sh sets it)")
        print("0 passed, 1 failed")
        return 1
    REPORTS.mkdir(exist_ok=True)
    print(f"run_tests.py: stages: {' '.join(wanted)} (reports in .reports/)")
    total_passed = total_failed = 0
    context = Context()
    try:
        for stage in STAGES:
            if stage not in wanted:
                continue
            print(f"\n== stage: {stage}", flush=True)
            try:
                passed, failed = globals()[f"stage_{stage}"](context)
            except Exception as exc:  # a broken stage is a failed stage, with its reason
                loud(f"{stage}: {type(exc).__name__}: {exc}")
                passed, failed = 0, 1
            print(f"stage {stage}: {passed} passed, {failed} failed", flush=True)
            total_passed, total_failed = total_passed + passed, total_failed + failed
    finally:
        context.close()
    print(f"\n{total_passed} passed, {total_failed} failed")
    return 0 if total_failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
