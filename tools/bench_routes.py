"""REST vs Odoo's native /jsonrpc for read by id, create, write and aggregates; one table with search.

Run by tools/bench.sh after the acceptance benchmark (which measures search,
limit 80), on the same server and data. For each operation, wrk at 1 and 8
connections, REST and JSON-RPC alternating, two rounds each:

  read       GET /api/res.partner/<id>?fields=name,email   vs  execute_kw read([id], [name, email])
  create     POST /api/res.partner/create {name, ref}      vs  execute_kw create([{name, ref}])
  write      PUT /api/res.partner/<id> {email}             vs  execute_kw write([id], {email})
  aggregate  GET /api/res.partner/aggregate?domain=[ref = BENCH-AGG]&groupby=country_id,create_date:month
             &aggregates=color:sum,__count                 vs  execute_kw read_group(the same domain,
             ["color:sum"], ["country_id", "create_date:month"], lazy=False)

Ids are drawn at random from 200 bench partners, so that 8 connections do not
all write one row (that would measure lock waits and retries, not the API).
The aggregates group 3,000 bench partners (12 countries, colors 0-11). The
search figures are read from the acceptance benchmark's output
($BENCH_SEARCH_REPORT) and printed in the same table. Ratios are REST
requests/s divided by JSON-RPC requests/s (> 1: REST is faster). With
$BENCH_LOG (the server's log, at info level), the SQL queries of one
aggregate call on each side are counted from Odoo's request log lines, on a
server nothing else calls meanwhile.

Environment: ACC_URL, ACC_DB, ACC_ADMIN_PASSWORD (set by acceptance/run's
state.env), BENCH_SECONDS (default 8), BENCH_SEARCH_REPORT, BENCH_WORKDIR,
BENCH_LOG, BENCH_OPERATIONS (a comma-separated subset: read,create,write,aggregate).
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import xmlrpc.client

URL, DB = os.environ["ACC_URL"], os.environ["ACC_DB"]
PASSWORD = os.environ.get("ACC_ADMIN_PASSWORD", "admin")
SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
CONNECTIONS = (1, 8)
POOL = 200
AGGREGATED = 3000
AGG_DOMAIN = [["ref", "=", "BENCH-AGG"]]
AGG_GROUPBY = ["country_id", "create_date:month"]
AGG_QUERY = urllib.parse.urlencode({"domain": json.dumps(AGG_DOMAIN), "groupby": ",".join(AGG_GROUPBY),
                                    "aggregates": "color:sum,__count"})  # fmt: skip
AGG_PATH = f"/api/res.partner/aggregate?{AGG_QUERY}"

LUA = """
local ids = {%(ids)s}
local method, headers = "%(method)s", {}
%(headers)s
local counter = 0
function setup(thread) thread:set("seed", math.random(1, 1000000)) end
function init(args) math.randomseed(seed) end
function request()
    counter = counter + 1
    local id = ids[math.random(#ids)]
    local path = %(path)s
    local body = %(body)s
    return wrk.format(method, path, headers, body)
end
"""


def rpc():
    uid = xmlrpc.client.ServerProxy(f"{URL}/xmlrpc/2/common").authenticate(DB, "admin", PASSWORD, {})
    proxy = xmlrpc.client.ServerProxy(f"{URL}/xmlrpc/2/object", allow_none=True)

    def call(model, method, *args, **kwargs):
        return proxy.execute_kw(DB, uid, PASSWORD, model, method, list(args), kwargs)

    return uid, call


def bench_partners(call):
    ids = call("res.partner", "search", [("ref", "=like", "BENCH-RW-%")], order="id")
    missing = POOL - len(ids)
    if missing > 0:
        ids += call(
            "res.partner",
            "create",
            [{"name": f"Bench rw {i}", "ref": f"BENCH-RW-{i}"} for i in range(missing)],
        )
    return ids[:POOL]


def aggregated_partners(call):
    """3,000 partners of ref BENCH-AGG: 12 countries, colors 0 to 11."""
    missing = AGGREGATED - call("res.partner", "search_count", AGG_DOMAIN)
    countries = call("res.country", "search", [], limit=12, order="id")
    while missing > 0:
        size = min(missing, 500)
        call("res.partner", "create", [{"name": f"Bench agg {i}", "ref": "BENCH-AGG", "color": i % 12,
                                        "country_id": countries[i % len(countries)]} for i in range(size)])  # fmt: skip
        missing -= size


def lua_script(workdir, name, ids, method, headers, path, body):
    """A wrk script drawing a random id per request; ``path``/``body`` are Lua expressions."""
    header_lines = "\n".join(f'headers["{k}"] = "{v}"' for k, v in headers.items())
    text = LUA % {"ids": ",".join(map(str, ids)), "method": method, "headers": header_lines,
                  "path": path, "body": body}  # fmt: skip
    script = os.path.join(workdir, f"{name}.lua")
    with open(script, "w", encoding="utf-8") as handle:
        handle.write(text)
    return script


def lua_string(text):
    return "[==[" + text + "]==]"


def jsonrpc_body(uid, method, args_lua, kwargs):
    """The /jsonrpc body as a Lua expression; ``args_lua`` is spliced in (it may use ``id``)."""
    head = json.dumps({"jsonrpc": "2.0", "method": "call", "id": 1, "params": {"service": "object",
                       "method": "execute_kw", "args": [DB, uid, PASSWORD, "res.partner", method]}})  # fmt: skip
    # ..."res.partner", "<method>"]}}  ->  ..."<method>", <args>, <kwargs>]}}
    prefix = head[: -len("]}}")]
    return f"{lua_string(prefix + ', ')} .. {args_lua} .. {lua_string(', ' + json.dumps(kwargs) + ']}}')}"


def targets(uid, key, ids, workdir):
    rest_headers = {"api-key": key, "Content-Type": "application/json"}
    rpc_headers = {"Content-Type": "application/json"}
    jsonrpc = lua_string("/jsonrpc")
    read_group = json.dumps([AGG_DOMAIN, ["color:sum"], AGG_GROUPBY])
    return {
        "read": (
            lua_script(workdir, "rest-read", ids, "GET", rest_headers,
                       '"/api/res.partner/" .. id .. "?fields=name,email"', "nil"),
            lua_script(workdir, "rpc-read", ids, "POST", rpc_headers, jsonrpc,
                       jsonrpc_body(uid, "read", '"[[" .. id .. "]]"', {"fields": ["name", "email"]})),
        ),
        "create": (
            lua_script(workdir, "rest-create", ids, "POST", rest_headers, '"/api/res.partner/create"',
                       lua_string('{"name": "Bench created", "ref": "BENCH-NEW"}')),
            lua_script(workdir, "rpc-create", ids, "POST", rpc_headers, jsonrpc,
                       jsonrpc_body(uid, "create", lua_string('[{"name": "Bench created", "ref": "BENCH-NEW"}]'), {})),
        ),
        "write": (
            lua_script(workdir, "rest-write", ids, "PUT", rest_headers, '"/api/res.partner/" .. id',
                       '"{\\"email\\": \\"w" .. counter .. "@bench.example\\"}"'),
            lua_script(workdir, "rpc-write", ids, "POST", rpc_headers, jsonrpc,
                       jsonrpc_body(uid, "write", '"[[" .. id .. "], {\\"email\\": \\"w" .. counter .. "@bench.example\\"}]"', {})),
        ),
        "aggregate": (
            lua_script(workdir, "rest-aggregate", ids, "GET", rest_headers, lua_string(AGG_PATH), "nil"),
            lua_script(workdir, "rpc-aggregate", ids, "POST", rpc_headers, jsonrpc,
                       jsonrpc_body(uid, "read_group", lua_string(read_group), {"lazy": False})),
        ),
    }  # fmt: skip


def to_ms(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(script, connections, seconds):
    command = ["wrk", "-t", str(min(connections, 2)), "-c", str(connections), "-d", f"{seconds}s",
               "--latency", "--timeout", "30s", "-s", script, URL]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 120).stdout
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:\s+(.*)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": to_ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "errors": errors.group(1) if errors else "",
    }


def rest_get(key, path):
    request = urllib.request.Request(f"{URL}{path}", headers={"api-key": key})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def jsonrpc(uid, method, args, kwargs):
    body = json.dumps({"jsonrpc": "2.0", "method": "call", "id": 1, "params": {"service": "object",
                       "method": "execute_kw", "args": [DB, uid, PASSWORD, "res.partner", method, args,
                                                        kwargs]}}).encode()  # fmt: skip
    request = urllib.request.Request(
        f"{URL}/jsonrpc", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())["result"]


def check_once(uid, key, ids, operations):
    """Both sides answer the same thing before they are timed."""
    if "read" in operations:
        rest = rest_get(key, f"/api/res.partner/{ids[0]}?fields=name,email")
        native = jsonrpc(uid, "read", [[ids[0]]], {"fields": ["name", "email"]})[0]
        if rest != native:
            sys.exit(f"bench: REST and JSON-RPC read differ: {rest} != {native}")
    if "aggregate" in operations:
        rest = rest_get(key, AGG_PATH)
        native = jsonrpc(uid, "read_group", [AGG_DOMAIN, ["color:sum"], AGG_GROUPBY], {"lazy": False})
        # the same groups; not in the same order: read_group sorts a many2one by its model's order
        same = sorted(json.dumps([g["country_id"], g["color:sum"], g["__count"]]) for g in rest) == sorted(
            json.dumps([g["country_id"], g["color"], g["__count"]]) for g in native
        )
        if not same or sum(g["__count"] for g in rest) != AGGREGATED:
            sys.exit(f"bench: REST and JSON-RPC aggregates differ: {rest[:3]} != {native[:3]}")
        print(f"aggregate: {len(rest)} groups of {AGGREGATED} partners, the same on both sides", flush=True)


def queries_per_call(log, key, uid, calls=20):
    """Median SQL queries of one aggregate call on each side, from Odoo's request log lines
    ("<request line>" <status> - <queries> <sql s> <other s>) of calls made one at a time."""
    found = {}
    for side, target, send in (
        ("REST", "GET /api/res.partner/aggregate", lambda: rest_get(key, AGG_PATH)),
        ("JSON-RPC", "POST /jsonrpc", lambda: jsonrpc(uid, "read_group", [AGG_DOMAIN, ["color:sum"], AGG_GROUPBY],
                                                      {"lazy": False})),
    ):  # fmt: skip
        for _ in range(calls):
            send()
        time.sleep(1)  # the log is written by the worker after the answer
        with open(log, encoding="utf-8", errors="replace") as handle:
            lines = [line for line in handle if f'"{target}' in line]
        counts = sorted(int(re.search(r'" \d{3} - (\d+) ', line).group(1)) for line in lines[-calls:])
        found[side] = counts[len(counts) // 2]
    return found


def search_figures(path):
    """{connections: (REST req/s, RPC req/s, REST p50 ms, RPC p50 ms)} from the acceptance benchmark's table."""
    figures = {}
    if path and os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                match = re.match(r"^(\d+)\s+([\d.]+)\s+([\d.]+)\s+[\d.]+\s+([\d.]+)ms\s+([\d.]+)ms", line)
                if match:
                    figures[int(match.group(1))] = tuple(float(x) for x in match.groups()[1:])
    return figures


def main():
    uid, call = rpc()
    key = call("rest.api.key", "generate", {"name": "bench routes", "user_id": uid, "all_models": True,
                                            "rate_limit": 0, "log_requests": False})["key"]  # fmt: skip
    ids = bench_partners(call)
    aggregated_partners(call)
    workdir = os.environ.get("BENCH_WORKDIR") or tempfile.mkdtemp(prefix="rest_api_bench.")
    scripts = targets(uid, key, ids, workdir)
    if wanted := os.environ.get("BENCH_OPERATIONS"):
        scripts = {name: pair for name, pair in scripts.items() if name in wanted.split(",")}
    check_once(uid, key, ids, scripts)
    if (log := os.environ.get("BENCH_LOG")) and "aggregate" in scripts:
        counted = queries_per_call(log, key, uid)
        print(f"aggregate: SQL queries per call (median of 20): REST {counted['REST']}, "
              f"JSON-RPC read_group {counted['JSON-RPC']}", flush=True)  # fmt: skip
    print("warm-up ...", flush=True)
    for rest, native in scripts.values():
        wrk(rest, 8, 2), wrk(native, 8, 2)

    results = {}
    for operation, (rest, native) in scripts.items():
        for connections in CONNECTIONS:
            for round_no in (1, 2):
                for side, script in (("REST", rest), ("JSON-RPC", native)):
                    res = wrk(script, connections, SECONDS)
                    results.setdefault((operation, connections, side), []).append(res)
                    print(f"  {operation:9} {side:8} c={connections} round {round_no}: {res['rps']:8.1f} req/s"
                          f"  p50 {res['p50']:7.2f} ms  non-2xx {res['non2xx']} {res['errors']}", flush=True)  # fmt: skip

    rows = []
    for (connections, (rest_rps, rpc_rps, rest_p50, rpc_p50)) in sorted(search_figures(os.environ.get("BENCH_SEARCH_REPORT")).items()):  # fmt: skip
        rows.append(("search", connections, rest_rps, rpc_rps, rest_p50, rpc_p50))
    for operation in scripts:
        for connections in CONNECTIONS:
            rest, native = (
                results[(operation, connections, "REST")],
                results[(operation, connections, "JSON-RPC")],
            )
            rows.append((operation, connections, sum(r["rps"] for r in rest) / len(rest),
                         sum(r["rps"] for r in native) / len(native), sum(r["p50"] for r in rest) / len(rest),
                         sum(r["p50"] for r in native) / len(native)))  # fmt: skip
    print()
    print(
        f"{'operation':10} {'conns':>5} {'REST req/s':>11} {'RPC req/s':>10} {'ratio':>7} {'REST p50':>10} {'RPC p50':>10}"
    )
    for operation, connections, rest_rps, rpc_rps, rest_p50, rpc_p50 in rows:
        print(f"{operation:10} {connections:5d} {rest_rps:11.1f} {rpc_rps:10.1f} {rest_rps / rpc_rps:7.3f}"
              f" {rest_p50:8.2f}ms {rpc_p50:8.2f}ms")  # fmt: skip
    failed = [r for values in results.values() for r in values if r["non2xx"] or r["errors"]]
    if failed:
        print(f"WARNING: {len(failed)} runs had non-2xx answers or socket errors")
    ratios = [rest_rps / rpc_rps for _op, _c, rest_rps, rpc_rps, _a, _b in rows]
    print(f"min_ratio_rest_vs_jsonrpc={min(ratios):.3f} (target >= 1.0)")


if __name__ == "__main__":
    main()
