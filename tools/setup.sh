#!/usr/bin/env bash
# shellcheck shell=bash
# Build, once, everything `make run` and `make test` need, in a project-local
# virtualenv (.venv, git-ignored); a later call that finds it up to date
# returns in well under a second.
#
#   bash tools/setup.sh            build or refresh .venv, then print its python
#   source tools/setup.sh          the same, then put .venv/bin first on PATH
#
# Where Odoo 18 comes from, first match wins:
#   1. ODOO_SRC: a local Odoo 18 source tree or a git URL (shallow-cloned)
#   2. ../shared/odoo-18.0 beside this checkout
#   3. a shallow clone of Odoo's 18.0 branch (machines that reach it)
# It is always installed into .venv (editable), so the project never depends
# on what the system Python holds, and always launched as the tree's own
# odoo-bin (never `python3 -m odoo`: its gevent child crash-loops).
#
# As root, the Debian packages the build and the tests need are installed
# with apt-get; otherwise the missing ones are named and setup stops.
#
# Environment: REST_API_VENV (default ROOT/.venv), ODOO_SRC, PG_BIN.

_setup_main() {
    local root venv stamp src want have py
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    venv=${REST_API_VENV:-$root/.venv}
    stamp=$venv/.rest_api_setup

    _say() { echo "setup: $*" >&2; }
    _die() {
        echo "setup: ERROR: $*" >&2
        return 1
    }

    src=$(_setup_odoo_src "$root" "$venv") || return 1

    # What the environment is built from: rebuild when any of it changes.
    want=$(cat "$src/requirements.txt" "$root/requirements.txt" "$root/requirements-test.txt" \
        "$root/tools/constraints.txt" "$root/tools/setup.sh" "$root/tools/node/package-lock.json" \
        2>/dev/null | sha256sum | cut -c1-16)
    want="$want $src"
    have=$(cat "$stamp" 2>/dev/null || true)
    if [[ $have == "$want" && -x $venv/bin/python ]]; then
        REST_API_ODOO_SRC=$src
        REST_API_VENV=$venv
        return 0
    fi

    _say "building $venv (Odoo from $src); this takes a few minutes, once"
    _setup_debian || return 1
    py=$(command -v python3) || _die "python3 not found" || return 1
    if [[ ! -x $venv/bin/python ]]; then
        "$py" -m venv "$venv" || _die "python3 -m venv failed (Debian: apt-get install python3-venv)" || return 1
    fi
    export PIP_CONSTRAINT=$root/tools/constraints.txt PIP_DISABLE_PIP_VERSION_CHECK=1
    local pip=("$venv/bin/python" -m pip install -q)
    "${pip[@]}" "setuptools<70" wheel || _die "pip could not install setuptools and wheel" || return 1
    _say "installing Odoo's requirements ($src/requirements.txt)"
    "${pip[@]}" -r "$src/requirements.txt" || _die "pip failed on Odoo's requirements" || return 1
    _say "installing Odoo itself (editable) and the addon's and tests' requirements"
    "${pip[@]}" --no-build-isolation -e "$src" || _die "pip could not install Odoo from $src" || return 1
    "${pip[@]}" -r "$root/requirements.txt" -r "$root/requirements-test.txt" ||
        _die "pip failed on requirements.txt / requirements-test.txt" || return 1
    if command -v npm >/dev/null 2>&1; then
        _say "installing the Node clients of the e2e tests (tools/node)"
        npm ci --prefix "$root/tools/node" --no-audit --no-fund --loglevel=error ||
            _die "npm ci in tools/node failed" || return 1
    fi
    "$venv/bin/python" "$src/odoo-bin" --version >/dev/null ||
        _die "$src/odoo-bin --version fails in $venv" || return 1
    # Odoo's prefork gevent child starts with this; when it fails there, the
    # child dies at start-up and is respawned forever (see constraints.txt)
    "$venv/bin/python" -c 'import gevent.monkey; gevent.monkey.patch_all()' ||
        _die "gevent cannot patch in $venv: Odoo's gevent child would crash-loop" || return 1
    echo "$want" >"$stamp"
    _say "ready: $venv ($("$venv/bin/python" "$src/odoo-bin" --version))"
    REST_API_ODOO_SRC=$src
    REST_API_VENV=$venv
}

# Print the Odoo 18 source tree to use (cloning it first when needed).
_setup_odoo_src() {
    local root=$1 venv=$2 src
    if [[ -n ${ODOO_SRC:-} ]]; then
        if [[ -d $ODOO_SRC ]]; then
            src=$(cd "$ODOO_SRC" && pwd)
        else
            src=$venv/odoo-src
            if [[ ! -f $src/odoo-bin ]]; then
                echo "setup: cloning $ODOO_SRC (branch 18.0) into $src" >&2
                git clone -q --depth 1 --branch 18.0 "$ODOO_SRC" "$src" >&2 ||
                    { echo "setup: ERROR: git clone $ODOO_SRC failed" >&2; return 1; }
            fi
        fi
    elif [[ -f $root/../shared/odoo-18.0/odoo-bin ]]; then
        src=$(cd "$root/../shared/odoo-18.0" && pwd)
    else
        src=$venv/odoo-src
        if [[ ! -f $src/odoo-bin ]]; then
            echo "setup: no Odoo tree found; cloning Odoo 18.0 into $src" >&2
            mkdir -p "$venv"
            git clone -q --depth 1 --branch 18.0 https://github.com/odoo/odoo.git "$src" >&2 ||
                { echo "setup: ERROR: no Odoo 18 tree: set ODOO_SRC to one (a path or a git URL)" >&2; return 1; }
        fi
    fi
    if [[ ! -f $src/odoo-bin || ! -f $src/odoo/release.py ]]; then
        echo "setup: ERROR: $src is not an Odoo source tree (no odoo-bin)" >&2
        return 1
    fi
    if ! grep -qE "^version_info = \(18, 0" "$src/odoo/release.py"; then
        echo "setup: ERROR: $src is not Odoo 18.0 ($(grep -m1 '^version_info' "$src/odoo/release.py"))" >&2
        return 1
    fi
    echo "$src"
}

# Debian packages: the build's headers, PostgreSQL 15, Chromium (tours), Node,
# poppler-utils (pdftotext reads the PDF of a report back in the e2e tests).
_setup_debian() {
    local need=() missing=() p pg_bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
    command -v dpkg-query >/dev/null 2>&1 || return 0 # not Debian: trust the machine
    for p in libpq-dev libldap2-dev libsasl2-dev; do # headers: checked as packages
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need+=("$p")
    done
    for p in chromium:chromium node:nodejs npm:npm git:git curl:curl pdftotext:poppler-utils; do # tools: any install will do
        command -v "${p%%:*}" >/dev/null 2>&1 || need+=("${p#*:}")
    done
    [[ -x $pg_bin/postgres ]] || need+=(postgresql-15)
    ((${#need[@]})) || return 0
    if [[ $(id -u) -ne 0 ]]; then
        echo "setup: ERROR: missing Debian packages: ${need[*]}" >&2
        echo "setup: install them as root: apt-get install ${need[*]}" >&2
        return 1
    fi
    echo "setup: installing Debian packages: ${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends "${need[@]}" >&2 || {
        echo "setup: ERROR: apt-get install ${need[*]} failed" >&2
        return 1
    }
    for p in libpq-dev libldap2-dev libsasl2-dev; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
    done
    [[ -x $pg_bin/postgres ]] || missing+=("postgresql-15 ($pg_bin/postgres)")
    command -v pdftotext >/dev/null 2>&1 || missing+=("poppler-utils (pdftotext)")
    ((${#missing[@]} == 0)) || {
        echo "setup: ERROR: still missing after apt-get: ${missing[*]}" >&2
        return 1
    }
}

if [[ ${BASH_SOURCE[0]} != "$0" ]]; then
    # sourced: build if needed, then use the virtualenv
    if _setup_main; then
        export PATH=$REST_API_VENV/bin:$PATH REST_API_VENV REST_API_ODOO_SRC
        export ODOO_BIN=${ODOO_BIN:-$REST_API_ODOO_SRC/odoo-bin}
        unset PIP_CONSTRAINT
    else
        return 1
    fi
else
    set -uo pipefail
    _setup_main || exit 1
    echo "$REST_API_VENV/bin/python"
fi
