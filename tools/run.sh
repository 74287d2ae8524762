#!/usr/bin/env bash
# `make run`: a throwaway Odoo 18 with rest_api and Odoo's demo data (that of
# the modules rest_api depends on: base's dozens of partners, contacts and tags),
# served on http://127.0.0.1:${PORT:-8069} until Ctrl-C. Everything (PostgreSQL
# cluster, Odoo data dir, addons link) lives in temp dirs deleted on exit.
#
#   PORT=8069         HTTP port
#   CRON=0            cron workers (CRON=1: scheduled jobs run, webhooks are sent)
#   REST_API_PG_FAST  0 by default here (durable PostgreSQL settings)
#   ODOO_BIN          see tools/check_odoo.sh

set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PORT=${PORT:-8069}
CRON=${CRON:-0}
DB=rest_api_demo
export REST_API_PG_FAST=${REST_API_PG_FAST:-0}

# shellcheck source=tools/setup.sh
source "$ROOT/tools/setup.sh" || exit 1
bash "$ROOT/tools/check_odoo.sh" || exit 1
# shellcheck source=tools/cluster.sh
source "$ROOT/tools/cluster.sh"
# shellcheck source=tools/check_odoo.sh
source "$ROOT/tools/check_odoo.sh"
odoo_detect

die() {
    echo "run.sh: ERROR: $*" >&2
    exit 1
}

if ! python3 -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1])))' "$PORT" 2>/dev/null; then
    die "port $PORT on 127.0.0.1 is busy; choose another one: make run PORT=8070"
fi

TMP_DIRS=()
ODOO_PID=
cleanup() {
    trap - EXIT INT TERM
    if [[ -n $ODOO_PID ]]; then
        kill -TERM -- "-$ODOO_PID" 2>/dev/null || kill -TERM "$ODOO_PID" 2>/dev/null
        for _ in $(seq 1 60); do
            kill -0 -- "-$ODOO_PID" 2>/dev/null || break
            sleep 0.25
        done
        kill -KILL -- "-$ODOO_PID" 2>/dev/null
        wait "$ODOO_PID" 2>/dev/null
        ODOO_PID=
    fi
    cluster_stop
    local d
    for d in "${TMP_DIRS[@]}"; do
        [[ $d == /tmp/rest_api_* ]] && rm -rf -- "$d"
    done
    echo "run.sh: stopped; temp dirs removed."
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cluster_start || die "the PostgreSQL cluster failed to start"

WORK=$(mktemp -d /tmp/rest_api_run.XXXXXX) || die "mktemp failed"
TMP_DIRS+=("$WORK")
mkdir -p "$WORK/addons" "$WORK/data"
ln -s "$ROOT" "$WORK/addons/rest_api"
CORE=$(cd / && python3 -c 'import os, odoo
base = os.path.dirname(odoo.__file__)
print(",".join(p for p in (os.path.join(os.path.dirname(base), "addons"), os.path.join(base, "addons"))
               if os.path.isdir(p)))') || die "cannot locate Odoo's core addons"
COMMON=(--addons-path="$CORE,$WORK/addons" --data-dir="$WORK/data"
    --db_host="$PGHOST" --db_port="$PGPORT" --db_user="$PGUSER")

echo "run.sh: creating database $DB with rest_api and Odoo's demo data (log: $WORK/install.log) ..."
# --without-demo= (empty) loads the demo data even where an ~/.odoorc says without_demo
if ! (cd / && "${ODOO[@]}" -d "$DB" "${COMMON[@]}" -i rest_api --without-demo= \
    --stop-after-init --max-cron-threads=0 --no-http) >"$WORK/install.log" 2>&1; then
    tail -n 40 "$WORK/install.log" >&2
    die "installing rest_api failed (see above)"
fi
# a clean install logs no warning: show any (the log is deleted on exit)
LOG_PROBLEM='^[0-9-]+ [0-9:,]+ [0-9]+ (WARNING|ERROR|CRITICAL) '
if grep -E "$LOG_PROBLEM" "$WORK/install.log" >&2; then
    echo "run.sh: the install logged the WARNING/ERROR line(s) above" >&2
fi

echo "run.sh: generating a demo API key ..."
MARK=REST_API_DEMO_KEY
KEY_OUT=$(cd / && "${ODOO[@]}" shell -d "$DB" "${COMMON[@]}" --no-http --max-cron-threads=0 \
    --log-level=warn 2>&1 <<EOF
key = env['rest.api.key'].generate({'name': 'demo', 'user_id': env.ref('base.user_admin').id, 'all_models': True})['key']
print('$MARK=' + key)
print('REST_API_DEMO_PARTNERS=%d' % env['res.partner'].search_count([]))
print('REST_API_DEMO_DATA=%d' % bool(env['ir.module.module'].search([('name', '=', 'base')]).demo))
print('REST_API_DEMO_USERS=' + ','.join(u.login for u in (env.ref('base.user_demo', False), env.ref('base.demo_user0', False)) if u))
env.cr.commit()
EOF
)
KEY=$(sed -n "s/^.*$MARK=\([^[:space:]]*\).*$/\1/p" <<<"$KEY_OUT" | tail -n 1)
if [[ -z $KEY ]]; then
    tail -n 30 <<<"$KEY_OUT" >&2
    die "could not create the demo API key: no '$MARK=' line in the output of odoo shell.
run.sh: The addon must provide env['rest.api.key'].generate({...}) returning {'key': ...}."
fi
if grep -E "$LOG_PROBLEM" <<<"$KEY_OUT" >&2; then
    echo "run.sh: odoo shell logged the WARNING/ERROR line(s) above" >&2
fi
PARTNERS=$(sed -n "s/^REST_API_DEMO_PARTNERS=\([0-9]*\).*$/\1/p" <<<"$KEY_OUT" | tail -n 1)
if [[ $(sed -n "s/^REST_API_DEMO_DATA=\([01]\).*$/\1/p" <<<"$KEY_OUT" | tail -n 1) == 1 ]]; then
    DATA="demo data loaded: ${PARTNERS:-?} partners"
    # base's demo users have their login as password
    USERS=$(sed -n "s/^REST_API_DEMO_USERS=\([a-z0-9,]*\).*$/\1/p" <<<"$KEY_OUT" | tail -n 1)
    for login in ${USERS//,/ }; do
        DATA+=", login $login / $login"
    done
else
    DATA="no demo data: ${PARTNERS:-?} partners"
fi

cat <<EOF

==============================================================================
 rest_api demo: http://127.0.0.1:$PORT   (database $DB, login admin / admin)
 demo API key:  $KEY
 $DATA
 try:
   curl -s -H "api-key: $KEY" "http://127.0.0.1:$PORT/api/res.partner/search?fields=name,email&limit=5"
 PostgreSQL: PGHOST=$PGHOST PGPORT=$PGPORT PGUSER=$PGUSER REST_API_PGDATA=$REST_API_PGDATA REST_API_PGLOG=$REST_API_PGLOG
 cron workers: $CRON (CRON=1 make run: webhooks are sent)
 Ctrl-C stops Odoo and PostgreSQL and deletes everything.
==============================================================================

EOF

GEVENT_PORT=$(free_port)
(cd / && exec setsid "${ODOO[@]}" -d "$DB" "${COMMON[@]}" --db-filter="^$DB\$" \
    --http-port "$PORT" --gevent-port "$GEVENT_PORT" --http-interface 127.0.0.1 \
    --workers=2 --max-cron-threads="$CRON") </dev/null &
ODOO_PID=$!
wait "$ODOO_PID"
rc=$?
ODOO_PID=
exit "$rc"
