"""What a page deep in a search costs, by cursor and by offset (API.md section 10), on a live server.

Not a test (it is kept out of the suites: it makes 200,000 partners): it
prints figures, and exits 1 when a cursor page at depth 100,000 costs more
than BENCH_CURSOR_RATIO (default 1.2) times the first page.

1. BENCH_PARTNERS res.partner (default 200,000) are inserted by SQL in one
   statement (``INSERT ... SELECT generate_series``: seconds, where the ORM
   would take minutes), named "Bench cursor <n>" with every name 4 times
   (duplicates in the order's first column), ``ref`` BENCH-CURSOR, then
   ANALYZE. Partners of an earlier run that kept them are used again.
2. ``GET /api/res.partner/search`` with res.partner's own order
   (``complete_name ASC, id DESC``) and limit 80, no domain (every partner;
   each answer counts them for X-Total-Count), as the wall-clock time of one
   request, BENCH_ROUNDS rounds (default 12) of a burst of 9 requests of each kind,
   the kinds in a shuffled order, after 4 untimed requests of each; the
   figure compared is the median of the bursts' medians (see ``_figures``),
   the mean of every request and the fastest are shown too:

     page 1              no cursor, no offset;
     cursor at 100,000   the Link rel="next" of the page at offset 99,920
                         (its rows start at position 100,000);
     offset=100000       the same depth by offset, for contrast.

   Twice: with ``fields=name`` (the page made from the query's rows) and with
   the default fields (every readable field but binaries, read by the ORM).
   With the server's log (BENCH_LOG or ACC_LOG), the time inside the server
   of each kind too, from Odoo's request log lines, of the requests whose
   total was kept; the verdict then compares those, which the load of other
   processes on the machine sways less than the wall clock of a few ms. (Page
   1 and the offset page share one kept total: the same statement without its
   bounds; so page 1 counts less often than the cursor page in this mix.)
3. The partners are deleted at the end (BENCH_KEEP=1 keeps them for the next
   run), even after a failure.

Run against the acceptance harness (tools/bench.sh does this), or any server
and its database (``make run`` prints its PostgreSQL port in its log):

    set -a; source ~/.cache/rest_api_acceptance/run/state.env; set +a
    python3 tools/bench_cursor.py
    # or
    REST_API_URL=http://127.0.0.1:8069 REST_API_DB=rest_api_demo PGHOST=127.0.0.1 PGPORT=<port> \\
        PGUSER=odoo python3 tools/bench_cursor.py

Environment: ACC_URL or REST_API_URL, ACC_DB or REST_API_DB,
ACC_ADMIN_PASSWORD (default admin), PGHOST/PGPORT/PGUSER/PGPASSWORD (libpq's,
for the insert), BENCH_PARTNERS, BENCH_ROUNDS, BENCH_CURSOR_RATIO, BENCH_KEEP,
BENCH_LOG or ACC_LOG.
"""

import os
import random
import re
import statistics
import sys
import time
import xmlrpc.client

import psycopg2
import requests

URL = (os.environ.get("ACC_URL") or os.environ.get("REST_API_URL") or "http://127.0.0.1:8069").rstrip("/")
DB = os.environ.get("ACC_DB") or os.environ.get("REST_API_DB") or ""
PASSWORD = os.environ.get("ACC_ADMIN_PASSWORD", "admin")
PARTNERS = int(os.environ.get("BENCH_PARTNERS", "200000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "12"))
BURST = 9
RATIO = float(os.environ.get("BENCH_CURSOR_RATIO", "1.2"))
DEPTH, LIMIT = 100_000, 80
REF = "BENCH-CURSOR"
SEARCH = "/api/res.partner/search"
LINK_RE = re.compile(r'<([^>]*)>; rel="next"')
LOG_RE = re.compile(r'"GET (\S+) HTTP/1\.[01]" 200 - (\d+) ([\d.]+) ([\d.]+)')
LOG = os.environ.get("BENCH_LOG") or os.environ.get("ACC_LOG") or ""
PAGE_1, CURSOR, OFFSET = "page 1", f"cursor at {DEPTH:,}", f"offset={DEPTH}"

INSERT = """
INSERT INTO res_partner (id, name, complete_name, ref, active, type, is_company, color, partner_share,
                         commercial_partner_id, create_uid, write_uid, create_date, write_date)
SELECT id, label, label, %(ref)s, TRUE, 'contact', FALSE, 0, TRUE, id, 1, 1, now, now
FROM (SELECT nextval('res_partner_id_seq') AS id, 'Bench cursor ' || lpad((n / 4)::text, 6, '0') AS label,
             now() AT TIME ZONE 'UTC' AS now
      FROM generate_series(0, %(count)s - 1) AS n) AS made
"""


def seed(cr):
    cr.execute("SELECT count(*) FROM res_partner WHERE ref = %s", [REF])
    have = cr.fetchone()[0]
    if have != PARTNERS:
        cr.execute("DELETE FROM res_partner WHERE ref = %s", [REF])
        started = time.perf_counter()
        cr.execute(INSERT, {"ref": REF, "count": PARTNERS})
        print(f"inserted {PARTNERS:,} partners in {time.perf_counter() - started:.1f} s")
    cr.execute("ANALYZE res_partner")


def api_key():
    uid = xmlrpc.client.ServerProxy(f"{URL}/xmlrpc/2/common").authenticate(DB, "admin", PASSWORD, {})
    models = xmlrpc.client.ServerProxy(f"{URL}/xmlrpc/2/object", allow_none=True)
    values = {
        "name": "bench cursor",
        "user_id": uid,
        "all_models": True,
        "rate_limit": 0,
        "log_requests": False,
    }
    return models.execute_kw(DB, uid, PASSWORD, "rest.api.key", "generate", [values])["key"]


def timed(session, url, params=None):
    started = time.perf_counter()
    response = session.get(URL + url, params=params, timeout=300)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise SystemExit(f"bench_cursor: {url} answered {response.status_code}: {response.text[:300]}")
    return elapsed, response


def next_url(response):
    found = LINK_RE.search(response.headers.get("Link", ""))
    if not found or "cursor=" not in found.group(1):
        raise SystemExit(f"bench_cursor: no cursor in the next link: {response.headers.get('Link')!r}")
    return found.group(1)


def measure(session, fields):
    """{kind: (url, params)} of the three kinds, checked, and the total they tell."""
    base = {"limit": LIMIT, **({"fields": fields} if fields else {})}
    _elapsed, before = timed(session, SEARCH, dict(base, offset=DEPTH - LIMIT))
    kinds = {
        PAGE_1: (SEARCH, base),
        CURSOR: (next_url(before), None),
        OFFSET: (SEARCH, dict(base, offset=DEPTH)),
    }
    _elapsed, deep = timed(session, *kinds[CURSOR])
    _elapsed, by_offset = timed(session, *kinds[OFFSET])
    # both start at position DEPTH: the same rows
    if not deep.json() or [row["id"] for row in deep.json()] != [row["id"] for row in by_offset.json()]:
        raise SystemExit("bench_cursor: the cursor page and the offset page at the same depth differ")
    return kinds, deep.headers["X-Total-Count"]


def wall_clock(session, kinds, seed_):
    """{kind: (median of the bursts' medians, mean of every request, fastest)}, ms.

    Both workers count the total again after any commit, and their usage
    flushes commit every second: the first request of a kind after that, on
    each worker, pays the count (tens of ms for 200,000 rows), whatever its
    kind. A burst's median is a request whose total was kept; the mean of
    every request shows what the counts add.
    """
    for url, params in kinds.values():  # each worker's caches filled
        for _ in range(4):
            timed(session, url, params)
    bursts = {kind: [] for kind in kinds}
    draw = random.Random(seed_)
    for _ in range(ROUNDS):
        for kind in draw.sample(list(kinds), len(kinds)):
            bursts[kind].append([timed(session, *kinds[kind])[0] for _ in range(BURST)])
    figures = {}
    for kind, found in bursts.items():
        every = [value for burst in found for value in burst]
        figures[kind] = (
            statistics.median(map(statistics.median, found)),
            statistics.fmean(every),
            min(every),
        )
    return figures


def in_server(kinds, text):
    """{kind: (ms in the server, requests, requests that counted the total)} from Odoo's
    request log lines (``<queries> <sql s> <other s>``, to the ms): the mean of the middle
    80 % of the requests whose total was kept (the fewest statements of their kind)."""
    paths = {requests.Request("GET", URL + url, params=params).prepare().path_url: kind
             for kind, (url, params) in kinds.items()}  # fmt: skip
    found = {kind: [] for kind in kinds}
    for path, queries, sql, other in LOG_RE.findall(text):
        if path in paths:
            found[paths[path]].append((int(queries), (float(sql) + float(other)) * 1000))
    figures = {}
    for kind, lines in found.items():
        if not lines:
            return None
        fewest = min(queries for queries, _ms in lines)
        kept = sorted(ms for queries, ms in lines if queries == fewest)
        cut = len(kept) // 10
        figures[kind] = (
            statistics.fmean(kept[cut : len(kept) - cut] or kept),
            len(lines),
            len(lines) - len(kept),
        )
    return figures


def report(label, total, clock, server):
    """Print one table; the cursor page's ratio to page 1 (in the server when known)."""
    print(f"\nGET {SEARCH}, {label}, limit {LIMIT}, res.partner's order, X-Total-Count {int(total):,}")
    print(f"  wall clock, ms ({ROUNDS} bursts of {BURST}): median of bursts   x page 1     mean  fastest")
    for kind, (typical, mean, fastest) in clock.items():
        print(f"    {kind:<20} {typical:21.1f} {typical / clock[PAGE_1][0]:9.2f}x {mean:8.1f} {fastest:8.1f}")
    ratio = clock[CURSOR][0] / clock[PAGE_1][0]
    if server:
        print("  in the server, ms (Odoo's log; total kept): mean     x page 1   requests  counted")
        for kind, (mean, count, counted) in server.items():
            print(f"    {kind:<20} {mean:27.2f} {mean / server[PAGE_1][0]:9.2f}x {count:10d} {counted:8d}")
        ratio = server[CURSOR][0] / server[PAGE_1][0]
    where = "in the server" if server else "wall clock"
    verdict = "ok" if ratio <= RATIO else "TOO SLOW"
    print(f"  cursor page at depth {DEPTH:,}: {ratio:.2f}x page 1 ({where}; at most {RATIO}x): {verdict}")
    return ratio <= RATIO


def main():
    if not DB:
        raise SystemExit("bench_cursor: set ACC_DB or REST_API_DB (and the server's URL)")
    connection = psycopg2.connect(dbname=DB)
    connection.autocommit = True
    ok = True
    try:
        with connection.cursor() as cr:
            seed(cr)
        session = requests.Session()
        session.headers["api-key"] = api_key()
        for fields, label in (("name", "fields=name"), (None, "default fields")):
            kinds, total = measure(session, fields)
            start = os.path.getsize(LOG) if LOG else 0
            clock = wall_clock(session, kinds, label)
            server = None
            if LOG:
                time.sleep(0.5)  # the log line is written once the answer is sent
                with open(LOG, encoding="utf-8", errors="replace") as handle:
                    handle.seek(start)
                    server = in_server(kinds, handle.read())
            ok = report(label, total, clock, server) and ok
    finally:
        if os.environ.get("BENCH_KEEP") != "1":
            with connection.cursor() as cr:
                cr.execute("DELETE FROM res_partner WHERE ref = %s", [REF])
        connection.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
