# shellcheck shell=bash
# Throwaway PostgreSQL 15 cluster for rest_api's developer tooling.
#
# Usage (the caller owns the trap):
#     source tools/cluster.sh
#     trap cluster_stop EXIT INT TERM
#     cluster_start || exit 1
#     ... PGHOST / PGPORT / PGUSER are exported, role "odoo" is a superuser ...
#
# Variables:
#     REST_API_PG_FAST=1   fsync/synchronous_commit/full_page_writes off (default 1;
#                          tools/run.sh sets 0)
#     PG_BIN               PostgreSQL binaries (default /usr/lib/postgresql/15/bin)
# Exported by cluster_start:
#     PGHOST=127.0.0.1 PGPORT=<free port> PGUSER=odoo
#     REST_API_PGDATA      the data directory (tests may restart PostgreSQL with
#                          cluster_pg_ctl restart / pg_ctl -D "$REST_API_PGDATA" ...)
#     REST_API_PG_TMPDIR   the temp dir holding data dir, socket dir and server log
#                          (informational; cluster_stop deletes the dir it created)
#     REST_API_PGLOG       the server log

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
: "${REST_API_PG_FAST:=1}"
# Private to this shell (never exported): a child shell sourcing this file must
# not be able to stop or delete our cluster.
_REST_API_PG_OWNED_DIR=

# Print a free TCP port on 127.0.0.1 (bind to port 0, let the kernel choose).
free_port() {
    python3 - <<'EOF'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

# Run a command as the postgres system user when we are root, directly otherwise.
_pg_as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# pg_ctl on the throwaway cluster, as its owner: cluster_pg_ctl restart -m fast
cluster_pg_ctl() {
    _pg_as_owner "$PG_BIN/pg_ctl" -D "$REST_API_PGDATA" -l "$REST_API_PGLOG" -w -t 60 "$@"
}

cluster_start() {
    if [[ ! -x $PG_BIN/initdb || ! -x $PG_BIN/pg_ctl || ! -x $PG_BIN/postgres ]]; then
        echo "cluster: PostgreSQL 15 binaries not found in $PG_BIN" >&2
        return 1
    fi
    if [[ -n $_REST_API_PG_OWNED_DIR ]]; then
        echo "cluster: already started ($_REST_API_PG_OWNED_DIR)" >&2
        return 1
    fi
    _REST_API_PG_OWNED_DIR=$(mktemp -d /tmp/rest_api_pg.XXXXXX) || return 1
    export REST_API_PG_TMPDIR=$_REST_API_PG_OWNED_DIR
    export REST_API_PGDATA=$REST_API_PG_TMPDIR/data
    export REST_API_PGLOG=$REST_API_PG_TMPDIR/postgresql.log
    mkdir -p "$REST_API_PG_TMPDIR/socket"
    if [[ $(id -u) -eq 0 ]]; then
        chown -R postgres: "$REST_API_PG_TMPDIR"
    fi
    chmod 700 "$REST_API_PG_TMPDIR"

    if ! _pg_as_owner "$PG_BIN/initdb" -D "$REST_API_PGDATA" --auth=trust -U postgres \
        -E UTF8 --locale=C.UTF-8 --no-sync >"$REST_API_PG_TMPDIR/initdb.log" 2>&1; then
        echo "cluster: initdb failed:" >&2
        cat "$REST_API_PG_TMPDIR/initdb.log" >&2
        return 1
    fi

    # Settings go to postgresql.conf (not "pg_ctl -o") so that any restart of
    # the cluster by a test (pg_ctl -D "$REST_API_PGDATA" restart) keeps them.
    local conf="listen_addresses = '127.0.0.1'
unix_socket_directories = '$REST_API_PG_TMPDIR/socket'
max_connections = 200"
    local fast_opts=""
    if [[ $REST_API_PG_FAST == 1 ]]; then
        # Also given as -c flags below; the conf copy survives a stop + start.
        fast_opts=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        conf+="
fsync = off
synchronous_commit = off
full_page_writes = off"
    fi
    printf '\n# rest_api tools/cluster.sh\n%s\n' "$conf" |
        _pg_as_owner tee -a "$REST_API_PGDATA/postgresql.conf" >/dev/null

    local port tries=0
    while :; do
        port=$(free_port) || return 1
        # Bind-to-0 leaves a small race; retry with another port if start fails.
        if _pg_as_owner "$PG_BIN/pg_ctl" -D "$REST_API_PGDATA" -l "$REST_API_PGLOG" -w -t 60 \
            -o "-p $port$fast_opts" start >/dev/null; then
            printf 'port = %s\n' "$port" | _pg_as_owner tee -a "$REST_API_PGDATA/postgresql.conf" >/dev/null
            break
        fi
        tries=$((tries + 1))
        if ((tries >= 3)); then
            echo "cluster: PostgreSQL failed to start; log:" >&2
            tail -n 30 "$REST_API_PGLOG" >&2
            return 1
        fi
    done

    export PGHOST=127.0.0.1 PGPORT=$port PGUSER=odoo
    if ! PGUSER=postgres psql -X -q -d postgres -v ON_ERROR_STOP=1 \
        -c "CREATE ROLE odoo SUPERUSER LOGIN" >/dev/null; then
        echo "cluster: could not create role odoo" >&2
        return 1
    fi
    echo "cluster: PostgreSQL 15 on 127.0.0.1:$PGPORT (fast=$REST_API_PG_FAST, data $REST_API_PGDATA)"
}

# Stop the cluster and delete its temp dir. Idempotent; safe as an EXIT trap.
cluster_stop() {
    local dir=$_REST_API_PG_OWNED_DIR
    [[ -n $dir ]] || return 0
    _REST_API_PG_OWNED_DIR=
    if [[ -f $dir/data/postmaster.pid ]]; then
        _pg_as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 ||
            _pg_as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 ||
            true
    fi
    case $dir in
    /tmp/rest_api_pg.*) rm -rf -- "$dir" ;;
    esac
    return 0
}
