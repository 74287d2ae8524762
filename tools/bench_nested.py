"""What a nested read costs (API.md section 10), on a live server.

Not a test: it prints figures, and exits 1 only when an answer is not the one
API.md promises (a wrong status, a wrong number of records).

80 companies (res.partner, each with a country) with 3 contacts each are
made once (kept between runs: ref ``BENCH-NEST-a`` for the first 8,
``BENCH-NEST-b`` for the other 72). Then, for each case, the SQL statements
of one call (the fewest over BENCH_CALLS calls, from the server's request
log: Odoo's werkzeug line ends with ``<status> - <queries> <sql s> <other
s>``; each call is sent from a loopback address of its own) and the client's
median milliseconds over BENCH_CALLS calls:

  plain 80     GET /api/res.partner/search?fields=name,country_id,child_ids   (ids of the contacts)
  nested 8     GET ...?fields=name,country_id{name,code},child_ids{name,country_id{name},parent_id}
  nested 80    the same for the 80 companies: the same statements as 8 (one batch per level)
  web 80       /jsonrpc execute_kw web_search_read of the 80 with the same specification
               (what Odoo's web client sends; its many2ones not expanded asking display_name,
               as the REST route does): the native floor

Run against the acceptance harness (tools/bench.sh does this):

    set -a; source ~/.cache/rest_api_acceptance/run/state.env; set +a
    BENCH_LOG=$ACC_LOG python3 tools/bench_nested.py

or against ``make run`` (its output is the log): ACC_URL=http://127.0.0.1:8069
ACC_DB=rest_api_demo BENCH_LOG=<make run's output> python3 tools/bench_nested.py.

Environment: ACC_URL, ACC_DB, ACC_ADMIN_PASSWORD (default admin), BENCH_CALLS
(20), BENCH_LOG or OVERHEAD_LOG or ACC_LOG (the server's log file).
"""

import json
import os
import statistics
import sys
import time
from urllib.parse import urlencode

from bench_safe_writes import DB, LOG, PASSWORD, Client, Failure, expect, logged, xmlrpc_call

CALLS = int(os.environ.get("BENCH_CALLS", "20"))
REF = "BENCH-NEST"
SEARCH = "/api/res.partner/search"
PLAIN = "name,country_id,child_ids"
NESTED = "name,country_id{name,code},child_ids{name,country_id{name},parent_id}"
# NESTED as Odoo's web_read specification, many2ones not expanded asking their display name
WEB_SPEC = {
    "name": {},
    "country_id": {"fields": {"name": {}, "code": {}}},
    "child_ids": {"fields": {"name": {}, "country_id": {"fields": {"name": {}}},
                             "parent_id": {"fields": {"display_name": {}}}}},
}  # fmt: skip


def companies(call):
    """The 80 companies with their contacts, made the first time."""
    found = call("res.partner", "search_count", [("ref", "in", [f"{REF}-a", f"{REF}-b"])])
    if found == 80:
        return
    if found:
        raise Failure(f"{found} partners with ref {REF}-a/b, expected 0 or 80: delete them and run again")
    countries = call("res.country", "search", [], limit=80)
    made = call("res.partner", "create", [
        {"name": f"Bench nest {i:02}", "is_company": True, "ref": f"{REF}-{'a' if i < 8 else 'b'}",
         "country_id": countries[i % len(countries)]} for i in range(80)])  # fmt: skip
    call(
        "res.partner",
        "create",
        [{"name": f"Bench nest contact {n}", "parent_id": c} for c in made for n in range(3)],
    )


def cases(uid):
    """{case: (method, path, body, records expected)}."""

    def search(fields, refs):
        query = {"domain": json.dumps([["ref", "in", refs]]), "fields": fields, "limit": 100, "order": "id"}
        return "GET", f"{SEARCH}?{urlencode(query)}", None

    web = {"jsonrpc": "2.0", "method": "call", "id": 1, "params": {"service": "object", "method": "execute_kw",
           "args": [DB, uid, PASSWORD, "res.partner", "web_search_read", [[["ref", "in", [f"{REF}-a", f"{REF}-b"]]]],
                    {"specification": WEB_SPEC, "limit": 100, "order": "id"}]}}  # fmt: skip
    both = [f"{REF}-a", f"{REF}-b"]
    return {
        "plain 80": (*search(PLAIN, both), 80),
        "nested 8": (*search(NESTED, [f"{REF}-a"]), 8),
        "nested 80": (*search(NESTED, both), 80),
        "web 80": ("POST", "/jsonrpc", web, 80),
    }


def records(answer):
    return (
        len(answer["result"]["records"]) if isinstance(answer, dict) and "result" in answer else len(answer)
    )


def timed(key, method, path, body, wanted):
    """Client milliseconds of one call on a new connection."""
    client = Client(key="" if path == "/jsonrpc" else key)
    started = time.perf_counter()
    status, _headers, answer = client.send(method, path, body)
    spent = (time.perf_counter() - started) * 1000
    client.close()
    expect(f"{method} {path[:60]}", status, 200, answer)
    if records(answer) != wanted:
        raise Failure(f"{method} {path[:60]}: {records(answer)} records, expected {wanted}")
    return spent


def main():
    uid, call = xmlrpc_call()
    key = call("rest.api.key", "generate", {"name": "bench nested reads", "user_id": uid, "all_models": True,
                                            "rate_limit": 0, "log_requests": False})["key"]  # fmt: skip
    companies(call)
    table = cases(uid)
    for method, path, body, wanted in table.values():  # warm-up: every worker's caches
        for _ in range(4):
            timed(key, method, path, body, wanted)
    print(
        f"  {'case':<10} {'records':>7} {'statements':>10} {'median ms':>10}   (fewest statements and median of {CALLS} calls)"
    )
    for name, (method, path, body, wanted) in table.items():
        statements = "n/a"
        if LOG and os.path.exists(LOG):
            statements = min(
                logged(key if path != "/jsonrpc" else "", method, path, body)[3] for _ in range(CALLS)
            )
        median = statistics.median(timed(key, method, path, body, wanted) for _ in range(CALLS))
        print(f"  {name:<10} {wanted:>7} {statements!s:>10} {median:10.2f}", flush=True)
    if not LOG:
        print("  (statements: set BENCH_LOG to the server's log)")


if __name__ == "__main__":
    try:
        main()
    except Failure as exc:
        sys.exit(f"bench_nested: FAILED: {exc}")
