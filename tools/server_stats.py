"""What a live Odoo server spent on a bench's requests, measured on the server itself, so
that the figures hold on a machine other work loads too: a request's wall time there
grows with the load, its statements and its own CPU time do not.

- statements and SQL time per request: Odoo's request log lines (``werkzeug`` at info
  level end with ``<queries> <SQL seconds> <other seconds>``); these count what goes
  through Odoo's cursors (``cr.execute``), not a statement sent on the raw connection;
- CPU time: ``/proc/<pid>/stat`` (user + system) of the prefork server's HTTP workers and
  of its cron workers, each found in the log (``Worker WorkerHTTP (<pid>) alive``), and of
  the PostgreSQL backends of their connections (matched by the connection's client port
  in ``/proc/net/tcp``), when the server runs on this machine.

Nothing else may call the server meanwhile (its workers' CPU time is all counted).
"""

import os
import re
import statistics
from dataclasses import dataclass, field

TICK = os.sysconf("SC_CLK_TCK")
ALIVE = re.compile(
    r"^\S+ \S+ (\d+) INFO \S+ odoo\.service\.server: Worker (WorkerHTTP|WorkerCron) \(\d+\) alive"
)
REQUEST = re.compile(
    r'^\S+ \S+ (\d+) INFO \S+ werkzeug: .*?"(\w+) (\S+) HTTP/[\d.]+" (\d+) \S+ (\d+) ([\d.]+) ([\d.]+)'
)


def cpu_seconds(pid):
    """User + system CPU seconds of a process (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14 and 15)


def _client_ports(pids, pg_port):
    """{client port: pid} of the TCP connections of ``pids`` to PostgreSQL's port."""
    inodes = {}
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:["):
                    inodes[int(link[8:-1])] = pid
        except OSError:
            continue
    ports = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as lines:
                next(lines)
                for line in lines:
                    parts = line.split()
                    inode = int(parts[9])
                    if inode in inodes and int(parts[2].rsplit(":", 1)[1], 16) == pg_port:
                        ports[int(parts[1].rsplit(":", 1)[1], 16)] = inodes[inode]
        except OSError:
            continue
    return ports


def backends(pids, pg_port):
    """{backend pid: worker pid} of the PostgreSQL backends serving ``pids``."""
    ports = _client_ports(pids, pg_port)
    found = {}
    if not ports:
        return found
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                title = cmdline.read(300)
        except OSError:
            continue
        match = re.search(rb"\((\d+)\)", title) if title.startswith(b"postgres: ") else None
        if match and int(match.group(1)) in ports:
            found[int(entry)] = ports[int(match.group(1))]
    return found


@dataclass
class Snapshot:
    offset: int
    cpu: dict = field(default_factory=dict)  # pid -> seconds (workers and their backends)
    roles: dict = field(default_factory=dict)  # pid -> "http", "cron", "http-db", "cron-db"


class Server:
    """The server-side cost of the requests a bench sends to one prefork Odoo."""

    def __init__(self, log_path, pg_port=5433):
        self.log_path, self.pg_port = log_path, pg_port

    @classmethod
    def from_env(cls):
        """The server of ACC_LOG (or BENCH_SERVER_LOG), PostgreSQL on PGPORT (5433); None
        when the log cannot be read here (a server on another machine)."""
        path = os.environ.get("BENCH_SERVER_LOG") or os.environ.get("ACC_LOG")
        if not path or not os.access(path, os.R_OK):
            return None
        return cls(path, int(os.environ.get("PGPORT", "5433")))

    def workers(self):
        """{pid: "http" | "cron"} of the workers alive now, from their log lines."""
        found = {}
        with open(self.log_path, errors="replace") as log:
            for line in log:
                if "alive" in line and (match := ALIVE.match(line)):
                    found[int(match.group(1))] = "http" if match.group(2) == "WorkerHTTP" else "cron"
        return {pid: role for pid, role in found.items() if os.path.exists(f"/proc/{pid}")}

    def snapshot(self):
        roles = self.workers()
        for backend, worker in backends(list(roles), self.pg_port).items():
            roles[backend] = roles[worker] + "-db"
        return Snapshot(os.path.getsize(self.log_path), {pid: cpu_seconds(pid) for pid in roles}, roles)

    @staticmethod
    def cpu(before, after, role):
        """CPU seconds spent between two snapshots by the processes of ``role``."""
        return sum(
            max(0.0, seconds - before.cpu.get(pid, 0.0))
            for pid, seconds in after.cpu.items()
            if after.roles[pid] == role
        )

    def requests(self, before, after, path):
        """[(statements, SQL seconds)] of the requests to ``path`` logged between two snapshots."""
        found = []
        with open(self.log_path, "rb") as log:
            log.seek(before.offset)
            chunk = log.read(after.offset - before.offset).decode(errors="replace")
        for line in chunk.splitlines():
            if path in line and (match := REQUEST.match(line)) and match.group(3) == path:
                found.append((int(match.group(5)), float(match.group(6))))
        return found

    def figures(self, before, after, path, count):
        """Per request to ``path`` (``count`` sent): statements (median), and milliseconds of
        SQL time (mean, as Odoo measures it), of the HTTP workers' CPU and of their backends'."""
        logged = self.requests(before, after, path)
        return {
            "logged": len(logged),
            "statements": statistics.median(n for n, _t in logged) if logged else float("nan"),
            "sql_ms": 1000 * sum(t for _n, t in logged) / max(1, len(logged)),
            "cpu_ms": 1000 * self.cpu(before, after, "http") / count,
            "db_ms": 1000 * self.cpu(before, after, "http-db") / count,
        }
