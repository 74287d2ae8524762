#!/usr/bin/env bash
# Check that this machine can run rest_api's Odoo tooling:
#   - python3 can `import odoo`
#   - the Odoo launcher reports version 18.x
#   - the PostgreSQL 15 server binaries exist (PG_BIN, default /usr/lib/postgresql/15/bin)
# Exit 0 when all is well, print a clear error and exit 1 otherwise.
#
# Sourcing this file (instead of running it) only defines odoo_detect, which sets
# the array ODOO to the command that launches Odoo: always a source tree's own
# odoo-bin, run by the Python that has Odoo (ODOO_PYTHON, default python3) --
# never `python3 -m odoo`, whose prefork gevent child dies and is respawned
# forever. ODOO_BIN=/path/to/odoo-bin chooses the tree (tools/setup.sh sets it).

odoo_detect() {
    local py=${ODOO_PYTHON:-python3} bin=${ODOO_BIN:-}
    if [[ -z $bin ]]; then
        bin=$(cd / && "$py" -c 'import os, odoo
print(os.path.join(os.path.dirname(os.path.dirname(odoo.__file__)), "odoo-bin"))' 2>/dev/null)
    fi
    if [[ -n $bin && -f $bin ]]; then
        ODOO=("$py" "$bin")
    else
        ODOO=(odoo) # a packaged Odoo without its source tree: its console script
    fi
}

if [[ ${BASH_SOURCE[0]} != "$0" ]]; then
    return 0 # sourced
fi

set -uo pipefail
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
fail() {
    {
        echo "check_odoo: ERROR: $*"
        echo "check_odoo: rest_api needs Odoo 18 installed into python3 and PostgreSQL 15 server"
        echo "check_odoo: binaries in $PG_BIN (see README.rst)."
    } >&2
    exit 1
}

if ! err=$(cd / && python3 -c 'import odoo' 2>&1); then
    fail "'python3 -c \"import odoo\"' failed: $(tail -n 1 <<<"$err")"
fi

odoo_detect
version=$(cd / && "${ODOO[@]}" --version 2>/dev/null | tail -n 1)
case $version in
"Odoo Server 18."*) ;;
*) fail "'${ODOO[*]} --version' says '${version:-nothing}', expected 'Odoo Server 18.x'" ;;
esac

for b in initdb pg_ctl postgres; do
    [[ -x $PG_BIN/$b ]] || fail "PostgreSQL 15 binary $PG_BIN/$b not found"
done
if ! "$PG_BIN/postgres" --version | grep -q ' 15\.'; then
    fail "$PG_BIN/postgres is not PostgreSQL 15: $("$PG_BIN/postgres" --version)"
fi
for b in psql createdb; do
    command -v "$b" >/dev/null 2>&1 || fail "PostgreSQL client '$b' is not on PATH"
done

echo "check_odoo: OK: $version (${ODOO[*]}), $("$PG_BIN/postgres" --version)"
exit 0
