"""Memory of the prefork workers over 20,000 API requests.

Run by tools/bench.sh on the acceptance server. A key that is scoped,
throttled (a limit it never reaches) and logs every call, so that every
per-call path runs: search (limit 80), read by id, write. After a warm-up
of 2,000 requests, 8 keep-alive clients send 4 x 5,000 requests and the
resident memory (RSS) of each worker is read after each block. Flat means
the last block ends within a few MiB of the first: nothing grows per call.

Environment: ACC_URL, ACC_DB, ACC_ADMIN_PASSWORD, ACC_DIR (for the prefork
pid file; or BENCH_SERVER_PID), BENCH_MEMORY_REQUESTS (default 20000).
"""

import json
import os
import random
import sys
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import psutil
import requests
from bench_routes import rpc  # tools/ is on sys.path: this file is run as a script

URL = os.environ["ACC_URL"]  # ACC_DB and ACC_ADMIN_PASSWORD are read by bench_routes.rpc
PID_FILE = os.path.join(os.environ.get("ACC_DIR", os.path.expanduser("~/.cache/rest_api_acceptance")),
                        "run", "odoo-prefork.pid")  # fmt: skip
TOTAL = int(os.environ.get("BENCH_MEMORY_REQUESTS", "20000"))
BLOCKS = 4
WARM_UP = 2000

SEARCH = "/api/res.partner/search?" + urlencode(
    {"domain": json.dumps([["is_company", "=", True]]), "fields": "name,email", "limit": 80}
)
CLIENTS = 8


def workers():
    """{pid: process} of the prefork HTTP workers (not the gevent process)."""
    pid = os.environ.get("BENCH_SERVER_PID")
    if not pid:
        with open(PID_FILE, encoding="utf-8") as handle:
            pid = handle.read().strip()
    main = psutil.Process(int(pid))
    found = {p.pid: p for p in main.children() if "gevent" not in p.cmdline()}
    if not found:
        sys.exit(f"memory: no worker processes under pid {main.pid}")
    return found


def rss_mib(processes):
    return {pid: p.memory_info().rss / 2**20 for pid, p in sorted(processes.items())}


def send(key, ids, count):
    """``count`` calls from CLIENTS keep-alive connections: search, read and write in turn."""

    def client(n):
        session = requests.Session()
        session.headers["api-key"] = key
        rnd = random.Random(n)
        for i in range(count // CLIENTS):
            record = rnd.choice(ids)
            if i % 3 == 0:
                response = session.get(URL + SEARCH, timeout=60)
            elif i % 3 == 1:
                response = session.get(
                    f"{URL}/api/res.partner/{record}", params={"fields": "name,email"}, timeout=60
                )
            else:
                response = session.put(f"{URL}/api/res.partner/{record}", json={"email": f"m{i}@bench.example"},
                                       timeout=60)  # fmt: skip
            if response.status_code != 200:
                sys.exit(f"memory: {response.status_code} {response.text[:300]}")

    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(client, range(CLIENTS)))


def main():
    uid, call = rpc()
    partner_model = call("ir.model", "search", [("model", "=", "res.partner")])[0]
    key = call("rest.api.key", "generate", {
        "name": "bench memory", "user_id": uid, "all_models": False, "rate_limit": 10_000_000,
        "rate_limit_period": 3600, "log_requests": True,
        "scope_ids": [(0, 0, {"model_id": partner_model, "perm_read": True, "perm_write": True})],
    })["key"]  # fmt: skip
    ids = call("res.partner", "search", [("ref", "=like", "BENCH-RW-%")], limit=200) or call(
        "res.partner", "search", [], limit=200
    )
    processes = workers()
    send(key, ids, WARM_UP)
    readings = [rss_mib(processes)]
    print(f"workers {sorted(processes)}; RSS after {WARM_UP} warm-up requests: "
          f"{json.dumps({k: round(v, 1) for k, v in readings[0].items()})} MiB", flush=True)  # fmt: skip
    block = TOTAL // BLOCKS
    for n in range(1, BLOCKS + 1):
        send(key, ids, block)
        if set(workers()) != set(processes):
            sys.exit("memory: a worker was replaced during the run (limits reached?): figures void")
        readings.append(rss_mib(processes))
        total = sum(readings[-1].values())
        print(f"  after {n * block:6d} requests: RSS {total:7.1f} MiB "
              f"({', '.join(f'{v:.1f}' for v in readings[-1].values())})", flush=True)  # fmt: skip
    first, last = sum(readings[1].values()), sum(readings[-1].values())
    start = sum(readings[0].values())
    print(f"memory_growth_mib={last - start:.1f} over {TOTAL} requests "
          f"(first block {sum(readings[1].values()) - start:+.1f}, blocks 2-{BLOCKS} {last - first:+.1f}); "
          f"per 1000 requests {(last - start) / TOTAL * 1000:.2f} MiB")  # fmt: skip


if __name__ == "__main__":
    main()
