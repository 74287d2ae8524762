#!/usr/bin/env bash
# make bench: REST vs Odoo's native /jsonrpc vs the no-auth floor, in one run.
#
# Starts a throwaway PostgreSQL cluster, then:
#  1. the acceptance suite's benchmark (../shared/acceptance/run bench: 1000
#     partners seeded, GET /api/res.partner/search with a domain, 2 fields,
#     limit 80, against /jsonrpc execute_kw search_read of the same query and
#     against the fixture route that does the same search_read with no
#     authentication at all, each with wrk at 1 and 8 connections, two rounds);
#  2. SQL queries per call, from the server log;
#  3. tools/bench_routes.py: REST vs /jsonrpc for read by id, create, write and
#     aggregate (GET /api/res.partner/aggregate against read_group of the same
#     grouping of 3,000 partners, and the SQL queries of one call of each) at 1
#     and 8 connections, and one table of every ratio (search included);
#  4. tools/overhead.py: auth + scope + throttle + call log against an
#     unscoped key, per request;
#  5. tools/bench_memory.py: worker memory over 20,000 requests;
#  6. tools/bench_safe_writes.py: 1,000 creates as one /jsonrpc list, as 10
#     batches of 100 and as 1,000 calls; the SQL an Idempotency-Key adds;
#  7. tools/bench_webhooks.py: what a webhook subscription adds to 1,000
#     creates (singles and one list), and sustained delivery to a local
#     receiver (events per second, delay from commit to delivery);
#  8. tools/bench_nested.py: a nested read of 80 companies with their
#     contacts against 8 (SQL statements per call and milliseconds), a plain
#     read and /jsonrpc web_search_read of the same specification;
#  9. tools/bench_cursor.py: 200,000 partners (inserted by SQL, deleted at
#     the end); page 1, the page at depth 100,000 by cursor and by offset
#     (a cursor page costs at most 1.2x page 1: else it exits 1);
# 10. tools/bench_files.py: a 5 MB attachment downloaded through
#     GET /api/ir.attachment/<id>/binary/datas and as base64 through /jsonrpc
#     (time and the serving worker's peak memory; 2x faster and half the
#     memory at most, else it exits 1).
# Not a test: it prints figures (also kept in .reports/bench.txt). About 23 min.
#
# Variables: ACCEPTANCE (default ../shared/acceptance), BENCH_SECONDS (10),
# ACC_DIR (the harness's work dir, default ~/.cache/rest_api_acceptance).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
ACCEPTANCE=${ACCEPTANCE:-$ROOT/../shared/acceptance}
[ -x "$ACCEPTANCE/run" ] || { echo "bench: no acceptance harness at $ACCEPTANCE (set ACCEPTANCE)" >&2; exit 2; }
bash tools/check_odoo.sh >/dev/null || { bash tools/check_odoo.sh; exit 2; }

# shellcheck source=tools/cluster.sh
source tools/cluster.sh
REST_API_PG_FAST=0
cleanup() {
    "$ACCEPTANCE/run" down >/dev/null 2>&1 || true
    cluster_stop
}
trap cleanup EXIT INT TERM
cluster_start

export ODOO_BIN=${ODOO_BIN:-$(python3 -c 'import odoo, os; print(os.path.join(os.path.dirname(os.path.dirname(odoo.__file__)), "odoo-bin"))')}
export ODOO_PYTHON=${ODOO_PYTHON:-python3}
# free ports, so that a running `make run` or another Odoo does not clash
export ACC_PORT=${ACC_PORT:-$(free_port)} ACC_GEVENT_PORT=$(free_port) ACC_PORT2=0
mkdir -p .reports
"$ACCEPTANCE/run" bench | tee .reports/bench.txt

# SQL queries per call, as Odoo's request log counts them (werkzeug line: ... <status> - <queries> <sql s> <other s>)
log=${ACC_DIR:-$HOME/.cache/rest_api_acceptance}/logs/$(ls -t "${ACC_DIR:-$HOME/.cache/rest_api_acceptance}/logs" | grep -v -e install -e threaded -e '\.out$' | head -1)
echo
echo "SQL queries per call (median over the benchmark, from $log):"
for target in "GET /api/res.partner/search" "POST /jsonrpc" "GET /acc/floor/partners"; do
    grep -F "\"$target" "$log" | awk '{print $(NF-2)}' | sort -n | awk -v t="$target" \
        '{a[NR]=$1} END {if (NR) printf "  %-30s %s queries (%d calls)\n", t, a[int((NR+1)/2)], NR}'
done

# Per-request overhead of scope + throttle + call log, on the same server.
set -a
# shellcheck disable=SC1091
source "${ACC_DIR:-$HOME/.cache/rest_api_acceptance}/run/state.env"
set +a
echo
echo "REST vs /jsonrpc: read by id, create, write, aggregate (and search, from above):"
BENCH_SEARCH_REPORT=.reports/bench.txt BENCH_SECONDS=${BENCH_ROUTE_SECONDS:-8} BENCH_LOG=$log python3 tools/bench_routes.py |
    tee .reports/bench-routes.txt
cat .reports/bench-routes.txt >>.reports/bench.txt
echo
echo "Overhead of a scoped, throttled, logging key against an unscoped key (1 connection):"
OVERHEAD_LOG=$log python3 tools/overhead.py | tee -a .reports/bench.txt
echo
echo "Worker memory over 20,000 requests (scoped, throttled, logging key; search, read, write):"
python3 tools/bench_memory.py | tee -a .reports/bench.txt
echo
echo "Safe writes: 1,000 creates as one /jsonrpc list, 10 x /api/batch of 100, 1,000 singles; SQL of Idempotency-Key and ETag:"
BENCH_LOG=$log python3 tools/bench_safe_writes.py | tee -a .reports/bench.txt
echo
echo "Webhooks: 1,000 creates without and with a subscription; sustained delivery to a local receiver:"
BENCH_LOG=$log python3 tools/bench_webhooks.py | tee -a .reports/bench.txt
echo
echo "Nested reads: 80 companies with 3 contacts each against 8, SQL statements per call (API.md section 10):"
BENCH_LOG=$log python3 tools/bench_nested.py | tee -a .reports/bench.txt
echo
echo "Cursor paging: 200,000 partners; page 1 against the page at depth 100,000 by cursor and by offset:"
BENCH_LOG=$log python3 tools/bench_cursor.py | tee -a .reports/bench.txt
echo
echo "Files: a 5 MB attachment through GET /api/.../binary/datas against /jsonrpc read of datas (time, worker peak memory):"
python3 tools/bench_files.py | tee -a .reports/bench.txt
