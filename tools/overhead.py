"""Per-request cost of the security features, measured against a live server.

Run by tools/bench.sh after the main benchmark, on the same server and data:
the same search with an unscoped key (all models, no limit, no log) and with
a key that is scoped to res.partner, throttled (a limit it never reaches),
limited to an IP range and logs every call. wrk at 1 connection, the two
keys alternating, five rounds each (OVERHEAD_ROUNDS); prints the median
latency (p50) of each round and the median of the per-round differences,
which is the overhead of scope check + IP check + throttle counter + call
log per request; with OVERHEAD_LOG (the server's log file), also the same
difference measured inside the server, from its request log lines. On a busy machine a round's p50 moves by more than the
overhead itself: the alternation and the median are there to cancel that.
"""

import json
import os
import re
import statistics
import subprocess
import sys
import time
import xmlrpc.client
from urllib.parse import urlencode

URL, DB = os.environ["ACC_URL"], os.environ["ACC_DB"]
PASSWORD = os.environ.get("ACC_ADMIN_PASSWORD", "admin")
SECONDS = int(os.environ.get("OVERHEAD_SECONDS", "6"))
ROUNDS = int(os.environ.get("OVERHEAD_ROUNDS", "5"))
LOG = os.environ.get("OVERHEAD_LOG", "")  # the server's log: also measure the time spent inside it
QUERY = urlencode({"domain": json.dumps([["is_company", "=", True]]), "fields": "name,email", "limit": 80})


def make_keys():
    uid = xmlrpc.client.ServerProxy(f"{URL}/xmlrpc/2/common").authenticate(DB, "admin", PASSWORD, {})
    rpc = xmlrpc.client.ServerProxy(f"{URL}/xmlrpc/2/object")

    def call(model, method, *args):
        return rpc.execute_kw(DB, uid, PASSWORD, model, method, list(args))

    partner_model = call("ir.model", "search", [("model", "=", "res.partner")])[0]
    plain = call("rest.api.key", "generate", {"name": "overhead plain", "user_id": uid, "all_models": True,
                                               "rate_limit": 0, "log_requests": False})  # fmt: skip
    guarded = call("rest.api.key", "generate", {
        "name": "overhead guarded", "user_id": uid, "all_models": False, "rate_limit": 10_000_000,
        "rate_limit_period": 3600, "log_requests": True, "allowed_ips": "127.0.0.0/8",
        "scope_ids": [(0, 0, {"model_id": partner_model, "perm_read": True})],
    })  # fmt: skip
    return plain["key"], guarded["key"]


def server_ms(offset):
    """Mean time the server spent per search request (SQL + the rest, from
    its request log lines: ``... 200 - <queries> <sql s> <other s>``) after ``offset``."""
    if not LOG:
        return None
    time.sleep(0.5)  # the last lines of the run reach the file
    with open(LOG, "rb") as handle:
        handle.seek(offset)
        lines = handle.read().decode("utf-8", "replace").splitlines()
    spent = [float(m.group(1)) + float(m.group(2)) for line in lines if '"GET /api/res.partner/search' in line
             and (m := re.search(r'" 200 - \d+ ([\d.]+) ([\d.]+)$', line.strip()))]  # fmt: skip
    if not spent:
        return None
    spent.sort()
    cut = len(spent) // 10  # the log has millisecond resolution: a mean of the middle 80 %, not a median
    return statistics.fmean(spent[cut : len(spent) - cut]) * 1000


def latency_ms(key):
    """(client p50, server median) in ms of one wrk round with ``key``."""
    offset = os.path.getsize(LOG) if LOG else 0
    out = subprocess.run(["wrk", "-t1", "-c1", f"-d{SECONDS}s", "--latency", "-H", f"api-key: {key}",
                          f"{URL}/api/res.partner/search?{QUERY}"], capture_output=True, text=True, check=True).stdout  # fmt: skip
    value, unit = re.search(r"50%\s+([\d.]+)(us|ms|s)", out).groups()
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if non2xx:
        sys.exit(f"overhead: {non2xx.group(1)} non-2xx answers")
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit], server_ms(offset)


def report(label, results):
    median = statistics.median
    differences = sorted(g - p for g, p in zip(results["guarded"], results["plain"], strict=True))
    print(
        f"{label}: unscoped key p50 {median(results['plain']):.3f} ms  rounds {[round(v, 3) for v in results['plain']]}"
    )
    print(
        f"{label}: scoped+throttled+logged p50 {median(results['guarded']):.3f} ms  rounds {[round(v, 3) for v in results['guarded']]}"
    )
    print(f"{label}: per-round differences (ms): {[round(d, 3) for d in differences]}")
    return median(differences)


def main():
    plain, guarded = make_keys()
    latency_ms(plain), latency_ms(guarded)  # warm-up: caches of both keys on both workers
    client, server = {"plain": [], "guarded": []}, {"plain": [], "guarded": []}
    for round_no in range(ROUNDS):
        order = ("plain", "guarded") if round_no % 2 == 0 else ("guarded", "plain")
        for name in order:
            seen, spent = latency_ms(plain if name == "plain" else guarded)
            client[name].append(seen)
            if spent is not None:
                server[name].append(spent)
    overhead = report("client", client)
    if server["plain"] and len(server["plain"]) == len(server["guarded"]):
        print(f"server_overhead_ms_per_request={report('server', server):.3f} (from {LOG})")
    print(f"overhead_ms_per_request={overhead:.3f} (target <= 0.5)")


if __name__ == "__main__":
    main()
