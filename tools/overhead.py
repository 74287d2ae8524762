"""Per-request cost of the security features, measured against a live server.

Run by tools/bench.sh after the main benchmark, on the same server and data:
the same search with an unscoped key (all models, no limit, no log) and with
a key that is scoped to res.partner, throttled (a limit it never reaches) and
logs every call. wrk at 1 connection, alternating, three rounds each; prints
the mean latency of each and the difference, which is the overhead of scope
check + throttle counter + call log per request.
"""

import json
import os
import re
import subprocess
import sys
import xmlrpc.client
from urllib.parse import urlencode

URL, DB = os.environ["ACC_URL"], os.environ["ACC_DB"]
PASSWORD = os.environ.get("ACC_ADMIN_PASSWORD", "admin")
SECONDS = int(os.environ.get("OVERHEAD_SECONDS", "8"))
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


def latency_ms(key):
    out = subprocess.run(["wrk", "-t1", "-c1", f"-d{SECONDS}s", "--latency", "-H", f"api-key: {key}",
                          f"{URL}/api/res.partner/search?{QUERY}"], capture_output=True, text=True, check=True).stdout  # fmt: skip
    value, unit = re.search(r"Latency\s+([\d.]+)(us|ms|s)", out).groups()
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if non2xx:
        sys.exit(f"overhead: {non2xx.group(1)} non-2xx answers")
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def main():
    plain, guarded = make_keys()
    latency_ms(plain), latency_ms(guarded)  # warm-up: caches of both keys on both workers
    results = {"plain": [], "guarded": []}
    for _round in range(3):
        results["plain"].append(latency_ms(plain))
        results["guarded"].append(latency_ms(guarded))
    mean = {name: sum(values) / len(values) for name, values in results.items()}
    print(f"unscoped key            mean latency {mean['plain']:.3f} ms  rounds {results['plain']}")
    print(f"scoped+throttled+logged mean latency {mean['guarded']:.3f} ms  rounds {results['guarded']}")
    print(f"overhead_ms_per_request={mean['guarded'] - mean['plain']:.3f}")


if __name__ == "__main__":
    main()
