"""What the test driver (tools/test.py) runs things with: a throwaway
PostgreSQL 15 cluster, Odoo and other commands in their own process groups,
and pytest's counts read from its JUnit report."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
AS_ROOT = os.geteuid() == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    """A PostgreSQL 15 cluster in a temporary folder, role ``odoo`` a superuser.

    Its settings are written to postgresql.conf, so a test that restarts it
    (``pg_ctl -D $REST_API_PGDATA restart``) keeps them. ``fast`` turns off
    fsync and synchronous commits (tests only).
    """

    def __init__(self, fast: bool = True):
        self.fast, self.dir, self.port = fast, None, None

    def _as_owner(self, *command, **kwargs):
        prefix = ["runuser", "-u", "postgres", "--"] if AS_ROOT else []
        return subprocess.run([*prefix, *map(str, command)], capture_output=True, text=True, **kwargs)

    @property
    def data(self) -> Path:
        return self.dir / "data"

    @property
    def log(self) -> Path:
        return self.dir / "postgresql.log"

    @property
    def env(self) -> dict:
        """What Odoo, psql and the tests need to reach it."""
        return {"PGHOST": "127.0.0.1", "PGPORT": str(self.port), "PGUSER": "odoo",
                "REST_API_PGDATA": str(self.data), "REST_API_PGLOG": str(self.log), "PG_BIN": str(PG_BIN)}  # fmt: skip

    def start(self) -> None:
        for binary in ("initdb", "pg_ctl", "postgres"):
            if not (PG_BIN / binary).exists():
                raise RuntimeError(f"PostgreSQL 15 binary {PG_BIN / binary} not found")
        self.dir = Path(tempfile.mkdtemp(prefix="rest_api_pg."))
        (self.dir / "socket").mkdir()
        if AS_ROOT:
            shutil.chown(self.dir, "postgres")
            shutil.chown(self.dir / "socket", "postgres")
        done = self._as_owner(PG_BIN / "initdb", "-D", self.data, "--auth=trust", "-U", "postgres",
                              "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")  # fmt: skip
        if done.returncode:
            raise RuntimeError("initdb failed:\n" + done.stdout + done.stderr)
        settings = ["listen_addresses = '127.0.0.1'", f"unix_socket_directories = '{self.dir / 'socket'}'",
                    "max_connections = 200"]  # fmt: skip
        if self.fast:
            settings += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        for _attempt in range(3):  # a port chosen free can be taken before PostgreSQL binds it
            self.port = free_port()
            conf = "\n".join([*settings, f"port = {self.port}"])
            self._as_owner("sh", "-c", f"cat >> '{self.data}/postgresql.conf'", input=f"\n{conf}\n")
            if not self._as_owner(PG_BIN / "pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60",
                                  "start").returncode:  # fmt: skip
                break
        else:
            raise RuntimeError("PostgreSQL did not start:\n" + self.log.read_text(errors="replace")[-3000:])
        done = subprocess.run(["psql", "-X", "-q", "-d", "postgres", "-v", "ON_ERROR_STOP=1",
                               "-c", "CREATE ROLE odoo SUPERUSER LOGIN"],
                              env={**os.environ, **self.env, "PGUSER": "postgres"}, capture_output=True, text=True)  # fmt: skip
        if done.returncode:
            raise RuntimeError("could not create the role odoo: " + done.stderr)

    def standby(self) -> Cluster:
        """A streaming hot standby of this cluster (``pg_basebackup -R``), started on a
        port of its own: what Odoo's ``--db_replica_host``/``--db_replica_port`` read."""
        replica = Cluster(fast=self.fast)
        replica.dir = Path(tempfile.mkdtemp(prefix="rest_api_pg_replica."))
        (replica.dir / "socket").mkdir()
        if AS_ROOT:
            shutil.chown(replica.dir, "postgres")
            shutil.chown(replica.dir / "socket", "postgres")
        done = replica._as_owner(PG_BIN / "pg_basebackup", "-h", "127.0.0.1", "-p", self.port, "-U", "postgres",
                                 "-D", replica.data, "-R", "-X", "stream", "-c", "fast", "--no-sync")  # fmt: skip
        if done.returncode:
            raise RuntimeError("pg_basebackup failed:\n" + done.stdout + done.stderr)
        for _attempt in range(3):
            replica.port = free_port()
            conf = f"port = {replica.port}\nunix_socket_directories = '{replica.dir / 'socket'}'\nhot_standby = on\n"
            replica._as_owner("sh", "-c", f"cat >> '{replica.data}/postgresql.conf'", input=f"\n{conf}")
            if not replica._as_owner(PG_BIN / "pg_ctl", "-D", replica.data, "-l", replica.log, "-w", "-t", "60",
                                     "start").returncode:  # fmt: skip
                return replica
        raise RuntimeError("the standby did not start:\n" + replica.log.read_text(errors="replace")[-3000:])

    def pg_ctl(self, action: str) -> None:
        """``pg_ctl stop`` (fast) or ``start`` under whatever uses the cluster."""
        extra = ["-m", "fast"] if action == "stop" else ["-l", self.log]
        done = self._as_owner(PG_BIN / "pg_ctl", "-D", self.data, *extra, "-w", "-t", "60", action)
        if done.returncode:
            raise RuntimeError(f"pg_ctl {action} failed: {done.stdout}{done.stderr}")

    def stop(self) -> None:
        if self.dir is None:
            return
        if (self.data / "postmaster.pid").exists():
            for mode in ("fast", "immediate"):
                if not self._as_owner(PG_BIN / "pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60",
                                      "stop").returncode:  # fmt: skip
                    break
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None


class Group:
    """A command in its own process group (with what it spawns: workers, browsers),
    its output in a log file; ``stop`` ends the whole group."""

    def __init__(self, command, log: Path, env=None, cwd="/"):
        self.log = log
        with open(log, "wb") as out:
            self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                            env=env, cwd=cwd, start_new_session=True)  # fmt: skip

    def wait(self, timeout: float) -> int:
        """The exit code; a run over ``timeout`` seconds is ended and answers -9."""
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop(grace=10)
            return -9

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, grace: float = 15) -> None:
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
            try:
                self.process.wait(wait)
            except subprocess.TimeoutExpired:
                continue
            if sig == signal.SIGTERM:  # its children may outlive it
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
            return


def wait_http(url: str, group: Group, seconds: float = 120, expect: int = 200) -> bool:
    """Whether ``url`` answers ``expect`` (200) within ``seconds`` while ``group`` lives."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and group.alive():
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                status = answer.status
        except urllib.error.HTTPError as error:
            status = error.code
        except OSError:  # not listening yet
            status = None
        if status == expect:
            return True
        time.sleep(0.5)
    return False


def junit_counts(report: Path) -> tuple[int, int, int]:
    """(passed, failed, skipped) of a pytest ``--junitxml`` report; errors count as failed."""
    root = ET.parse(report).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    total = failed = skipped = 0
    for suite in suites:
        total += int(suite.get("tests", 0))
        failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped += int(suite.get("skipped", 0))
    return total - failed - skipped, failed, skipped
