#!/usr/bin/env bash
# rest_api test runner: `make test` / `bash tools/test.sh [stage ...]`.
#
# Stages (in this order; default: all):
#   lint  ruff check, ruff format --check, pylint + pylint-odoo  (1 test per tool)
#   unit  python3 -m pytest -q tests/unit                          (pure Python)
#   odoo  Odoo's own test runner on a throwaway database (--test-tags /rest_api)
#   e2e   live Odoo server (--workers=2) + python3 -m pytest -q tests/e2e
# Each stage prints "== stage: <name>" and "stage <name>: N passed, N failed";
# the last line of the output is "N passed, N failed" summed over the stages.
# Exit code 0 only if nothing failed. Logs go to ./.reports/.
#
# Counting rules for the odoo stage: a skipped test counts as failed (browser
# tours skip silently when chromium or websocket-client is missing), and so does
# a module that fails to install, zero tests collected, a non-zero exit code, or
# any ERROR/CRITICAL log line that is not part of a reported test failure.
#
# Environment: ODOO_TEST_TIMEOUT (s, default 1800) bounds each Odoo run,
# REST_API_PG_FAST (default 1) see tools/cluster.sh, ODOO_BIN see check_odoo.sh.

set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 2
REPORTS=$ROOT/.reports
ALL_STAGES=(lint unit odoo e2e)
ODOO_TEST_TIMEOUT=${ODOO_TEST_TIMEOUT:-1800}
export REST_API_PG_FAST=${REST_API_PG_FAST:-1}
export PYTHONDONTWRITEBYTECODE=1

# The project virtualenv with Odoo 18 and every test tool (built once, see tools/setup.sh)
# shellcheck source=tools/setup.sh
if ! source "$ROOT/tools/setup.sh"; then
    echo "test.sh: the set-up failed (see above): no test can run" >&2
    echo "0 passed, 1 failed"
    exit 1
fi
# shellcheck source=tools/cluster.sh
source "$ROOT/tools/cluster.sh"
# shellcheck source=tools/check_odoo.sh
source "$ROOT/tools/check_odoo.sh" # defines odoo_detect

# ---------------------------------------------------------------- arguments
STAGES=()
for arg in "$@"; do
    case $arg in
    lint | unit | odoo | e2e) STAGES+=("$arg") ;;
    -h | --help)
        sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "test.sh: unknown stage '$arg' (stages: ${ALL_STAGES[*]})" >&2
        exit 2
        ;;
    esac
done
((${#STAGES[@]})) || STAGES=("${ALL_STAGES[@]}")
wants() {
    local s
    for s in "${STAGES[@]}"; do [[ $s == "$1" ]] && return 0; done
    return 1
}

# ---------------------------------------------------------------- cleanup
TMP_DIRS=()
SERVER_PID= # the e2e Odoo server (own process group, started with setsid)
SERVER2_PID= # a second, threaded server on the same database (throttling across servers)
RUN_PID=    # the Odoo run in progress (own process group), see odoo_run

kill_group() { # kill_group PID [grace seconds]: TERM the process group, KILL it after the grace
    local pid=$1 grace=${2:-15} i
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < grace * 4; i++)); do
        kill -0 -- "-$pid" 2>/dev/null || break
        sleep 0.25
    done
    kill -KILL -- "-$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

stop_server() {
    if [[ -n $SERVER2_PID ]]; then
        kill_group "$SERVER2_PID"
        SERVER2_PID=
    fi
    [[ -n $SERVER_PID ]] || return 0
    local pid=$SERVER_PID
    SERVER_PID=
    kill_group "$pid" 15
}

cleanup() {
    if [[ -n $RUN_PID ]]; then
        # interrupted: the database is throwaway, no need for a graceful stop
        kill_group "$RUN_PID" 3
        RUN_PID=
    fi
    stop_server
    cluster_stop
    local d
    for d in "${TMP_DIRS[@]}"; do
        [[ -n $d && $d == /tmp/rest_api_* ]] && rm -rf -- "$d"
    done
    TMP_DIRS=()
}
trap cleanup EXIT
trap 'echo "test.sh: interrupted" >&2; exit 130' INT
trap 'echo "test.sh: terminated" >&2; exit 143' TERM

# ---------------------------------------------------------------- helpers
TOTAL_PASSED=0
TOTAL_FAILED=0
header() { echo; echo "== stage: $1"; }
stage_result() { # name passed failed
    echo "stage $1: $2 passed, $3 failed"
    TOTAL_PASSED=$((TOTAL_PASSED + $2))
    TOTAL_FAILED=$((TOTAL_FAILED + $3))
}
loud() { # loud reason lines...
    local l
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
    printf '%s\n' "$@" | while IFS= read -r l; do echo "!!! $l"; done
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
}
mktmp() { # mktmp VAR prefix: VAR=new temp dir, registered for cleanup
    local -n _var=$1
    _var=$(mktemp -d "/tmp/rest_api_$2.XXXXXX") || return 1
    TMP_DIRS+=("$_var")
}

# Parse a pytest run: pytest_count <name> <rc> <logfile>
pytest_count() {
    local name=$1 rc=$2 log=$3 summary passed failed errors skipped
    summary=$(grep -E '^=*.*[0-9]+ (passed|failed|errors?|skipped|deselected|xfailed|xpassed)|no tests ran' "$log" | tail -n 1)
    passed=$(grep -oE '[0-9]+ passed' <<<"$summary" | grep -oE '[0-9]+' || true)
    failed=$(grep -oE '[0-9]+ failed' <<<"$summary" | grep -oE '[0-9]+' || true)
    errors=$(grep -oE '[0-9]+ errors?' <<<"$summary" | grep -oE '[0-9]+' || true)
    skipped=$(grep -oE '[0-9]+ skipped' <<<"$summary" | grep -oE '[0-9]+' || true)
    passed=${passed:-0} failed=$((${failed:-0} + ${errors:-0})) skipped=${skipped:-0}
    if ((rc == 5)); then
        loud "$name: pytest collected NO tests (exit code 5): counted as 1 failure."
        failed=$((failed + 1))
    elif ((rc != 0 && failed == 0)); then
        loud "$name: pytest exited with code $rc without reporting a failure" \
            "(internal error, usage error or interrupted): counted as 1 failure. See $log"
        failed=1
    fi
    if ((skipped > 0)); then
        echo "$name: WARNING: $skipped test(s) skipped (not counted as passed)"
    fi
    stage_result "$name" "$passed" "$failed"
}

# ---------------------------------------------------------------- odoo env
ODOO_OK=
ODOO_CHECKED=
ODOO_REASON=
ADDONS_PATH=
DATA_DIR=

odoo_prepare() { # once: check Odoo, build addons path, start the cluster
    if [[ -n $ODOO_OK ]]; then [[ $ODOO_OK == yes ]]; return; fi
    ODOO_OK=no
    if [[ $ODOO_CHECKED != yes ]]; then
        return 1
    fi
    odoo_detect
    local core link_dir
    core=$(cd / && python3 -c 'import os, odoo
base = os.path.dirname(odoo.__file__)
print(",".join(p for p in (os.path.join(os.path.dirname(base), "addons"), os.path.join(base, "addons"))
               if os.path.isdir(p)))') || { ODOO_REASON="cannot locate Odoo's core addons"; return 1; }
    mktmp link_dir addons || return 1
    ln -s "$ROOT" "$link_dir/rest_api"
    ADDONS_PATH=$core,$link_dir
    mktmp DATA_DIR data || return 1
    if ! cluster_start; then
        ODOO_REASON="the throwaway PostgreSQL 15 cluster failed to start (see above)"
        return 1
    fi
    ODOO_OK=yes
}

odoo_run() { # odoo_run <logfile> args... : Odoo with the common options, output to logfile
    # Runs in its own process group (with the browsers it spawns) and is waited
    # for in the background, so that Ctrl-C reaches our trap at once.
    local log=$1 rc
    shift
    (cd / && exec setsid timeout --signal=TERM --kill-after=30 "$ODOO_TEST_TIMEOUT" \
        "${ODOO[@]}" --addons-path="$ADDONS_PATH" --data-dir="$DATA_DIR" \
        --db_host="$PGHOST" --db_port="$PGPORT" --db_user="$PGUSER" --max-cron-threads=0 \
        "$@") </dev/null >"$log" 2>&1 &
    RUN_PID=$!
    wait "$RUN_PID"
    rc=$?
    RUN_PID=
    return "$rc"
}

# ---------------------------------------------------------------- stages
stage_lint() {
    header lint
    local passed=0 failed=0 f d rc
    local paths=() addon_paths=() tool_files=()
    for f in *.py; do [[ -f $f ]] && paths+=("$f") && addon_paths+=("$f"); done
    for d in controllers models lib tests; do
        [[ -d $d ]] && paths+=("$d") && addon_paths+=("$d")
    done
    [[ -d tools ]] && paths+=(tools)
    while IFS= read -r f; do tool_files+=("$f"); done < <(find tools -name '*.py' 2>/dev/null | sort)

    echo "-- ruff check ${paths[*]}"
    if ! command -v ruff >/dev/null 2>&1; then
        loud "lint: ruff is not installed (pip install -r requirements-test.txt)"
        failed=$((failed + 1))
    elif ruff check --no-cache "${paths[@]}"; then
        passed=$((passed + 1))
    else
        echo "lint: ruff check FAILED"
        failed=$((failed + 1))
    fi

    echo "-- ruff format --check ${paths[*]}"
    if ! command -v ruff >/dev/null 2>&1; then
        failed=$((failed + 1))
    elif ruff format --no-cache --check --diff "${paths[@]}"; then
        passed=$((passed + 1))
    else
        echo "lint: ruff format FAILED (fix with: ruff format .)"
        failed=$((failed + 1))
    fi

    echo "-- pylint --rcfile=.pylintrc (pylint-odoo, valid-odoo-versions=18.0)"
    if ! python3 -c 'import pylint_odoo' 2>/dev/null; then
        loud "lint: pylint-odoo is not installed (pip install -r requirements-test.txt)"
        failed=$((failed + 1))
    else
        rc=0
        python3 -m pylint --rcfile=.pylintrc --recursive=y --output-format=text \
            "${addon_paths[@]}" || rc=1
        # Command-line tools may print; everything else is the same.
        if ((${#tool_files[@]})); then
            python3 -m pylint --rcfile=.pylintrc --output-format=text \
                --disable=print-used "${tool_files[@]}" || rc=1
        fi
        if ((rc == 0)); then
            echo "pylint: no problem"
            passed=$((passed + 1))
        else
            echo "lint: pylint FAILED"
            failed=$((failed + 1))
        fi
    fi
    stage_result lint "$passed" "$failed"
}

stage_unit() {
    header unit
    local log=$REPORTS/unit.log rc
    if [[ ! -d tests/unit ]]; then
        loud "unit: tests/unit does not exist: no unit test can run."
        stage_result unit 0 1
        return
    fi
    python3 -m pytest -q tests/unit -p no:cacheprovider 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    pytest_count unit "$rc" "$log"
}

# Parse Odoo's test log. Prints "passed failed" on the last line; reasons and the
# failing blocks of the log before it.
parse_odoo_log() { # log rc db module
    python3 - "$@" <<'EOF'
import re
import sys

log_path, rc, db, module = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
with open(log_path, encoding="utf-8", errors="replace") as f:
    lines = f.read().splitlines()

# "2026-11-22 06:01:33,437 8295 ERROR dummy_test odoo.addons.x.tests.test_x: FAIL: TestX.test_fail"
head = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \d+ (\S+) (\S+) (\S+?): ?(.*)$")
result_re = re.compile(r"(\d+) failed, (\d+) error\(s\) of (\d+) tests when loading database")
test_logger = re.compile(rf"^odoo\.addons\.{re.escape(module)}\.tests(\.|$)")

result = None
skipped = []
blocks = []  # (index of the head line, why)
install_errors = []
other_errors = []
for i, line in enumerate(lines):
    m = head.match(line)
    if not m:
        continue
    level, _db, logger, msg = m.groups()
    if logger == "odoo.tests.result":
        r = result_re.search(msg)
        if r:
            result = tuple(int(x) for x in r.groups())
        continue
    if level == "INFO" and msg.startswith("skipped ") and " : " in msg:
        skipped.append(msg[len("skipped "):])
        continue
    if level not in ("ERROR", "CRITICAL"):
        continue
    if test_logger.match(logger) and (msg.startswith("FAIL:") or msg.startswith("ERROR:")):
        blocks.append(i)
        continue
    if logger == "odoo.modules.loading" and (
        re.match(r"Module \S+: \d+ failures, \d+ errors of \d+ tests", msg)
        or msg.startswith("At least one test failed")
    ):
        continue
    if logger.startswith(("odoo.modules.loading", "odoo.modules.registry")):
        install_errors.append(i)
    else:
        other_errors.append(i)
    blocks.append(i)


def show(i, limit=60):
    out = [lines[i]]
    for line in lines[i + 1:]:
        if head.match(line) or len(out) >= limit:
            break
        out.append(line)
    print("\n".join("    " + x for x in out))


reasons = []
if result is None:
    failed_tests = errors = total = 0
    reasons.append(
        "no 'odoo.tests.result: N failed, N error(s) of N tests' line in the log: Odoo crashed "
        "or the tests did not run"
    )
else:
    failed_tests, errors, total = result
    if total == 0:
        reasons.append(
            f"ZERO tests ran for /{module}: the tests were not collected (is there a tests/__init__.py "
            "importing the test modules, and are they tagged correctly?)"
        )
passed = max(total - failed_tests - errors - len(skipped), 0)
failed = failed_tests + errors + len(skipped)
if install_errors:
    reasons.append(f"the module failed to load/install ({len(install_errors)} ERROR line(s) from odoo.modules)")
if other_errors:
    reasons.append(f"{len(other_errors)} ERROR/CRITICAL log line(s) outside of test failures")
if rc != 0 and failed == 0:
    reasons.append(f"Odoo exited with code {rc}" + (" (timeout)" if rc in (124, 137) else ""))
# Problems outside of the test results count as one failure in all.
failed += 1 if reasons else 0

if skipped:
    print(f"odoo: {len(skipped)} SKIPPED test(s), counted as FAILED (missing chromium/websocket-client?):")
    for s in skipped:
        print("    skipped " + s)
if blocks:
    print("odoo: failing blocks of the log:")
    for i in blocks[:40]:
        show(i)
    if len(blocks) > 40:
        print(f"    ... {len(blocks) - 40} more, see {log_path}")
if result is None and not blocks:
    print(f"odoo: last lines of {log_path}:")
    print("\n".join("    " + x for x in lines[-40:]))
if reasons:
    print("!" * 78)
    for r in reasons:
        print("!!! odoo: " + r)
    print("!" * 78)
if result is not None:
    print(f"odoo: Odoo reported: {failed_tests} failed, {errors} error(s) of {total} tests, {len(skipped)} skipped")
print(passed, failed)
EOF
}

stage_odoo() {
    header odoo
    if ! odoo_prepare; then
        loud "odoo: cannot run the Odoo tests:" "$ODOO_REASON"
        stage_result odoo 0 1
        return
    fi
    local log=$REPORTS/odoo-tests.log port rc out counts
    port=$(free_port)
    echo "odoo: installing rest_api and running its tests (log: ${log#"$ROOT"/}) ..."
    local t0=$SECONDS
    # Install first, then test on an update of rest_api alone: installing with
    # --test-enable imports the tests of every module installed on the way
    # (web's import modules a trimmed Odoo tree does not have).
    odoo_run "$log.install" -d rest_api_test -i rest_api --without-demo=all --stop-after-init \
        --http-port "$port"
    rc=$?
    if ((rc != 0)); then
        tail -n 40 "$log.install" | sed 's/^/    /'
        loud "odoo: installing rest_api failed (exit code $rc), see $log.install"
        stage_result odoo 0 1
        return
    fi
    odoo_run "$log" -d rest_api_test -u rest_api --without-demo=all --test-enable \
        --test-tags /rest_api --stop-after-init --log-level=test --http-port "$port"
    rc=$?
    echo "odoo: Odoo exited with code $rc after $((SECONDS - t0)) s"
    out=$(parse_odoo_log "$log" "$rc" rest_api_test rest_api) || out="0 1"
    counts=$(tail -n 1 <<<"$out")
    sed '$d' <<<"$out"
    # shellcheck disable=SC2086
    stage_result odoo $counts
}

# serve_e2e PORT WORKERS LOG: start Odoo on the e2e database (own process
# group, pid in SERVED_PID) and wait until /web/login answers 200 (120 s).
serve_e2e() {
    local port=$1 workers=$2 server_log=$3 code=000 i
    (cd / && exec setsid "${ODOO[@]}" -d rest_api_e2e --db-filter='^rest_api_e2e$' \
        --addons-path="$ADDONS_PATH" --data-dir="$DATA_DIR" \
        --db_host="$PGHOST" --db_port="$PGPORT" --db_user="$PGUSER" \
        --http-port "$port" --gevent-port "$(free_port)" --http-interface 127.0.0.1 \
        --workers="$workers" --max-cron-threads=0 --logfile "$server_log" --log-level=info) </dev/null >"$server_log.out" 2>&1 &
    SERVED_PID=$!
    for ((i = 0; i < 240; i++)); do
        kill -0 "$SERVED_PID" 2>/dev/null || break
        code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' "http://127.0.0.1:$port/web/login" || true)
        [[ $code == 200 ]] && break
        sleep 0.5
    done
    if [[ $code != 200 ]]; then
        echo "e2e: last lines of the server log:"
        tail -n 40 "$server_log" "$server_log.out" 2>/dev/null | sed 's/^/    /'
        loud "e2e: the Odoo server on port $port did not answer 200 on /web/login within 120 s (last status: $code)."
        return 1
    fi
    echo "e2e: server on port $port up after $((i / 2)) s (--workers=$workers)"
}

stage_e2e() {
    header e2e
    if [[ ! -d tests/e2e ]]; then
        loud "e2e: tests/e2e does not exist: no end-to-end test can run."
        stage_result e2e 0 1
        return
    fi
    if ! odoo_prepare; then
        loud "e2e: cannot run the end-to-end tests:" "$ODOO_REASON"
        stage_result e2e 0 1
        return
    fi
    local install_log=$REPORTS/e2e-install.log server_log=$REPORTS/e2e-server.log log=$REPORTS/e2e.log
    local port rc code i
    echo "e2e: creating database rest_api_e2e with rest_api installed (log: ${install_log#"$ROOT"/}) ..."
    odoo_run "$install_log" -d rest_api_e2e -i rest_api --without-demo=all --stop-after-init \
        --http-port "$(free_port)"
    rc=$?
    if ((rc != 0)) || grep -qE '^[0-9-]+ [0-9:,]+ [0-9]+ (ERROR|CRITICAL) ' "$install_log"; then
        tail -n 40 "$install_log" | sed 's/^/    /'
        loud "e2e: installing rest_api into rest_api_e2e failed (exit code $rc), see $install_log"
        stage_result e2e 0 1
        return
    fi

    port=$(free_port)
    rm -f "$server_log" "$REPORTS/e2e-load.txt"
    echo "e2e: starting Odoo on http://127.0.0.1:$port (--workers=2, log: ${server_log#"$ROOT"/})"
    serve_e2e "$port" 2 "$server_log" && rc=0 || rc=1
    SERVER_PID=$SERVED_PID
    if ((rc == 0)); then
        port2=$(free_port)
        echo "e2e: starting a second, threaded Odoo on http://127.0.0.1:$port2 (same database)"
        serve_e2e "$port2" 0 "$server_log.2" && rc=0 || rc=1
        SERVER2_PID=$SERVED_PID
    fi
    if ((rc != 0)); then
        stop_server
        stage_result e2e 0 1
        return
    fi
    if [[ ! -x tools/node/node_modules/.bin/newman ]] && command -v npm >/dev/null 2>&1; then
        echo "e2e: installing newman (tools/node, npm ci)"
        npm ci --prefix tools/node --no-audit --no-fund --loglevel=error || echo "e2e: npm ci failed; the newman test will fail"
    fi
    echo "e2e: running pytest"
    REST_API_URL=http://127.0.0.1:$port REST_API_URL2=http://127.0.0.1:$port2 REST_API_DB=rest_api_e2e \
        REST_API_ADMIN_LOGIN=admin REST_API_ADMIN_PASSWORD=admin REST_API_LOG=$server_log \
        REST_API_PGDATA=$REST_API_PGDATA REST_API_PGLOG=$REST_API_PGLOG REST_API_PID=$SERVER_PID PG_BIN=$PG_BIN REST_API_REPORTS=$REPORTS \
        python3 -m pytest -q tests/e2e -p no:cacheprovider 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    stop_server
    pytest_count e2e "$rc" "$log"
}

# ---------------------------------------------------------------- main
mkdir -p "$REPORTS"
echo "test.sh: stages: ${STAGES[*]} (reports in ${REPORTS#"$ROOT"/}/)"
if wants odoo || wants e2e; then
    # checked up front so that a machine without Odoo says so immediately
    if ODOO_REASON=$(bash "$ROOT/tools/check_odoo.sh" 2>&1); then
        ODOO_CHECKED=yes
        echo "$ODOO_REASON"
    else
        loud "Odoo 18 / PostgreSQL 15 are not usable on this machine: the odoo and e2e stages will fail:" \
            "$ODOO_REASON"
        ODOO_OK=no
    fi
fi
for stage in "${ALL_STAGES[@]}"; do
    wants "$stage" && "stage_$stage"
done

cleanup
echo
echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
((TOTAL_FAILED == 0))
