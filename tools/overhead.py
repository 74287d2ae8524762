"""Per-request cost of the security features, measured against a live server.

Run by tools/bench.sh after the main benchmark, on the same server and data:
the same search (a domain, 2 fields, limit 80) with an unscoped key (all
models, no limit, no log) and with a key that is scoped to res.partner,
throttled (a limit it never reaches), limited to an IP range and logs every
call. The difference is the overhead of scope check + IP check + throttle
counter + call log per request.

The two keys take turns request by request, at one connection, in pairs
(plain then guarded, then guarded then plain, ...: OVERHEAD_PAIRS pairs),
so that a drift of the machine's speed falls on both alike; the overhead is
the median of the per-pair differences, with a bootstrap 95 % interval. On
2 shared cores, rounds of several seconds per key (wrk, as this tool did
first) moved by ±1.5-3 ms from round to round, more than the overhead
itself. OVERHEAD_PARTS=1 adds a key per feature (scope + IP allow-list,
call log, throttle), all keys taking turns in a rotating order, and prints
each feature's own median difference too. With OVERHEAD_LOG (the server's log file), the same difference is
also measured inside the server, from its request log lines: the two keys
ask for the fields in a different order so that their lines can be told
apart; the log has millisecond resolution, so that figure is a difference
of trimmed means over all the requests.
"""

import http.client
import json
import os
import random
import re
import statistics
import sys
import time
import xmlrpc.client
from urllib.parse import unquote, urlencode, urlsplit

URL, DB = os.environ["ACC_URL"], os.environ["ACC_DB"]
PASSWORD = os.environ.get("ACC_ADMIN_PASSWORD", "admin")
PAIRS = int(os.environ.get("OVERHEAD_PAIRS", "2000"))
LOG = os.environ.get("OVERHEAD_LOG", "")  # the server's log: also measure the time spent inside it
PARTS = os.environ.get("OVERHEAD_PARTS") == "1"  # also one key per feature
DOMAIN = json.dumps([["is_company", "=", True]])
PATHS = {  # the same query; the field order tells their log lines apart
    name: "/api/res.partner/search?" + urlencode({"domain": DOMAIN, "fields": fields, "limit": 80})
    for name, fields in (("plain", "name,email"), ("guarded", "email,name"))
}


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
    keys = {"plain": plain["key"], "guarded": guarded["key"]}
    if PARTS:
        base = {"user_id": uid, "all_models": True, "rate_limit": 0, "log_requests": False}
        for name, values in (
            ("scope+ip", {"all_models": False, "allowed_ips": "127.0.0.0/8",
                          "scope_ids": [(0, 0, {"model_id": partner_model, "perm_read": True})]}),
            ("log", {"log_requests": True}),
            ("throttle", {"rate_limit": 10_000_000, "rate_limit_period": 3600}),
        ):  # fmt: skip
            made = call("rest.api.key", "generate", dict(base, name=f"overhead {name}", **values))
            keys[name] = made["key"]
    return keys


def timed_call(target, name, key):
    """Milliseconds from sending the request to the end of the answer (a new connection, as wrk -c1 would)."""
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
    started = time.perf_counter()
    connection.request("GET", PATHS.get(name, PATHS["plain"]), headers={"api-key": key})
    response = connection.getresponse()
    response.read()
    spent = (time.perf_counter() - started) * 1000
    connection.close()
    if response.status != 200:
        sys.exit(f"overhead: {name} key got {response.status}")
    return spent


def server_ms(offset):
    """Per key, the trimmed mean time the server spent on each search (SQL +
    the rest, from its request log lines ``... 200 - <queries> <sql s> <other s>``) after ``offset``."""
    time.sleep(0.5)  # the last lines reach the file
    with open(LOG, "rb") as handle:
        handle.seek(offset)
        lines = handle.read().decode("utf-8", "replace").splitlines()
    result = {}
    for name, path in PATHS.items():
        path = unquote(path)  # as werkzeug logs it
        spent = sorted(
            float(m.group(1)) + float(m.group(2))
            for line in lines
            if f'"GET {path} ' in unquote(line)
            and (m := re.search(r'" 200 - \d+ ([\d.]+) ([\d.]+)$', line.strip()))
        )
        cut = len(spent) // 10  # the middle 80 %
        result[name] = statistics.fmean(spent[cut : len(spent) - cut]) * 1000 if spent else None
    return result


def bootstrap_interval(values, rounds=1000, seed=7):
    """95 % percentile-bootstrap interval of the median of ``values``."""
    rng = random.Random(seed)
    medians = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(rounds))
    return medians[int(rounds * 0.025)], medians[int(rounds * 0.975) - 1]


def main():
    keys, target = make_keys(), urlsplit(URL)
    for _ in range(50):  # warm-up: caches of both keys on both workers
        for name in keys:
            timed_call(target, name, keys[name])
    offset = os.path.getsize(LOG) if LOG else 0
    names = list(keys)
    seen = {name: [] for name in names}
    for pair in range(PAIRS):
        turn = names[pair % len(names) :] + names[: pair % len(names)]
        for name in turn if pair % 2 == 0 else turn[::-1]:
            seen[name].append(timed_call(target, name, keys[name]))
    differences = [g - p for g, p in zip(seen["guarded"], seen["plain"], strict=True)]
    overhead = statistics.median(differences)
    low, high = bootstrap_interval(differences)
    print(f"client: {PAIRS} pairs, unscoped key median {statistics.median(seen['plain']):.3f} ms, "
          f"scoped+throttled+logged median {statistics.median(seen['guarded']):.3f} ms")  # fmt: skip
    print(f"client: median per-pair difference {overhead:.3f} ms (95% interval {low:.3f} .. {high:.3f})")
    for name in names[2:]:
        part = [v - p for v, p in zip(seen[name], seen["plain"], strict=True)]
        part_low, part_high = bootstrap_interval(part)
        print(f"client: {name} alone: median difference {statistics.median(part):.3f} ms "
              f"(95% interval {part_low:.3f} .. {part_high:.3f})")  # fmt: skip
    if LOG:
        spent = server_ms(offset)
        if None not in spent.values():
            print(f"server: unscoped {spent['plain']:.3f} ms, scoped+throttled+logged {spent['guarded']:.3f} ms "
                  f"(trimmed means, from {LOG})")  # fmt: skip
            print(f"server_overhead_ms_per_request={spent['guarded'] - spent['plain']:.3f}")
    print(f"overhead_ms_per_request={overhead:.3f} (target <= 0.5)")


if __name__ == "__main__":
    main()
