"""What a read-only load costs the primary when a replica serves it (API.md section 10).

Not a test: it prints figures. Needs a server started with --db_replica_host
(``--url``), the primary's and the replica's PostgreSQL ports, and a key:

    python3 tools/bench_replica.py --url http://127.0.0.1:8095 --key odoorest_... \
        --db rest_api_demo --primary-port 52587 --replica-port 53927 [--calls 500]

It runs ``--calls`` reads (GET search of 20 partners, GET by id, and execute_kw
search_read, in turn) and reports, per call, from each server's own counters
(``pg_stat_database``, ``pg_stat_user_tables``; PostgreSQL 15 publishes them
within ~10 s, so it waits): the statements' scans of the data read
(``res_partner``) on each side, and the transactions each side ran. The
primary's transactions are the key checks (one per call) and the side
connections' counters; its ``res_partner`` scans should be 0.
"""

import argparse
import statistics
import subprocess
import time

import requests

SNAP = """
SELECT d.xact_commit + d.xact_rollback, t.seq_scan + coalesce(t.idx_scan, 0), d.tup_returned + d.tup_fetched
  FROM pg_stat_database d, pg_stat_user_tables t
 WHERE d.datname = current_database() AND t.relname = 'res_partner'
"""


def snap(port, db):
    out = subprocess.run(["psql", "-X", "-A", "-t", "-h", "127.0.0.1", "-p", str(port), "-U", "odoo", "-d", db,
                          "-c", SNAP], capture_output=True, text=True, check=True).stdout  # fmt: skip
    return [int(v) for v in out.strip().split("|")]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("--url", "--key", "--db"):
        parser.add_argument(name, required=True)
    parser.add_argument("--primary-port", type=int, required=True)
    parser.add_argument("--replica-port", type=int, required=True)
    parser.add_argument("--calls", type=int, default=500)
    args = parser.parse_args()
    session = requests.Session()
    session.headers["api-key"] = args.key
    ids = [
        row["id"] for row in session.get(f"{args.url}/api/res.partner/search", params={"limit": 20}).json()
    ]
    time.sleep(12)  # earlier calls' counters published
    primary0, replica0 = snap(args.primary_port, args.db), snap(args.replica_port, args.db)
    times = []
    for i in range(args.calls):
        started = time.perf_counter()
        if i % 3 == 0:
            answer = session.get(f"{args.url}/api/res.partner/search",
                                 params={"domain": f'[["id", "in", {ids}]]', "fields": "name,email"})  # fmt: skip
        elif i % 3 == 1:
            answer = session.get(f"{args.url}/api/res.partner/{ids[i % len(ids)]}", params={"fields": "name"})
        else:
            answer = session.post(f"{args.url}/api/res.partner/execute_kw", json={
                "method": "search_read", "args": [[["id", "in", ids]]], "kwargs": {"fields": ["name"]}})  # fmt: skip
        times.append(time.perf_counter() - started)
        answer.raise_for_status()
    time.sleep(12)
    primary1, replica1 = snap(args.primary_port, args.db), snap(args.replica_port, args.db)
    n = args.calls
    print(f"{n} read calls through {args.url}: median {statistics.median(times) * 1000:.1f} ms")  # noqa: T201
    for label, before, after in (("primary", primary0, primary1), ("replica", replica0, replica1)):
        xacts, scans, rows = (b - a for a, b in zip(before, after, strict=True))
        print(f"  {label:8} transactions {xacts / n:5.2f}/call   res_partner scans {scans / n:5.2f}/call"  # noqa: T201
              f"   rows read {rows / n:8.1f}/call")  # fmt: skip


if __name__ == "__main__":
    main()
