"""Reads served by a PostgreSQL streaming replica (API.md section 10, "Read replicas").

tools/run_tests.py makes a hot standby of the test cluster (``pg_basebackup -R``)
and starts a third server with ``--db_replica_host``/``--db_replica_port``
(REST_API_REPLICA_URL). Where a request's reads ran is seen on each server's
own counters: the scans of ``res_partner`` in ``pg_stat_user_tables``
(``pg_stat_database`` alone is fooled: Odoo opens a read-only cursor for every
request to check its registry). PostgreSQL 15 publishes a backend's counters
up to ~10 s late, so a measure polls. The outage test stops the replica, so it
runs last (and starts it again).
"""

import os
import subprocess
import time
import types

import pytest
from conftest import DB, URL, call, loopback, uniq

REPLICA_URL = os.environ.get("REST_API_REPLICA_URL", "")
REPLICA_PORT = os.environ.get("REST_API_REPLICA_PGPORT", "")
REPLICA_DATA = os.environ.get("REST_API_REPLICA_PGDATA", "")
REPLICA_LOG = os.environ.get("REST_API_REPLICA_LOG", "")
PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
FLUSH = 12  # s: a backend's statistics reach pg_stat_* within 10 s
REPLAYED_ON_READ_ONLY = "retrying with a read/write cursor"  # odoo/http.py: a write tried on the replica
SCANS = (
    "SELECT seq_scan + coalesce(idx_scan, 0), n_tup_ins + n_tup_upd + n_tup_del"
    " FROM pg_stat_user_tables WHERE relname = 'res_partner'"
)


def psql(port, sql, db=None):
    done = subprocess.run(
        ["psql", "-X", "-A", "-t", "-h", "127.0.0.1", "-p", str(port), "-U", "odoo", "-d", db or DB, "-c", sql],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def counters(port):
    scans, writes = psql(port, SCANS).split("|")
    return int(scans), int(writes)


def replica_ctl(action):
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    extra = (
        ["-m", "fast"] if action == "stop" else ["-l", os.path.join(os.path.dirname(REPLICA_DATA), "pg.log")]
    )
    done = subprocess.run([*prefix, f"{PG_BIN}/pg_ctl", "-D", REPLICA_DATA, *extra, "-w", "-t", "60", action],
                          capture_output=True, text=True, timeout=90)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def caught_up(timeout=15):
    lsn = psql(os.environ["PGPORT"], "SELECT pg_current_wal_lsn()", "postgres")
    deadline = time.time() + timeout
    while time.time() < deadline:
        if psql(REPLICA_PORT, f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn", "postgres") == "t":
            return
        time.sleep(0.2)
    raise AssertionError(f"the replica did not replay up to {lsn} within {timeout} s")


def settled(port, before, at_least, timeout=FLUSH):
    """The scans of ``port`` once they grew by ``at_least`` (or ``timeout`` passed)."""
    deadline = time.time() + timeout
    while True:
        now = counters(port)[0]
        if now - before >= at_least or time.time() >= deadline:
            return now
        time.sleep(0.5)


def get(path, key, base=REPLICA_URL, token=None, **params):
    return call("GET", path, key, base=base, token=token, params=params)


@pytest.fixture(scope="module")
def setup(admin, make_key):
    assert REPLICA_URL and REPLICA_PORT and REPLICA_DATA, "no replica server: run through tools/run_tests.py"
    assert psql(REPLICA_PORT, "SELECT pg_is_in_recovery()", "postgres") == "t"
    partners = [admin("res.partner", "create", {"name": uniq("Replica")}) for _i in range(4)]
    caught_up()
    time.sleep(FLUSH)  # counters of earlier calls are all published
    return types.SimpleNamespace(partners=partners, key=make_key()["key"], admin=admin)


def _read(key, partners, i, base=REPLICA_URL):
    if i % 3 == 0:
        return call("GET", "/api/res.partner/search", key, base=base,
                    params={"domain": f'[["id", "in", {partners}]]', "fields": "name"})  # fmt: skip
    if i % 3 == 1:
        return get(f"/api/res.partner/{partners[i % len(partners)]}", key, base=base, fields="name")
    return call("POST", "/api/res.partner/execute_kw", key, base=base,
                json={"method": "search_read", "args": [[["id", "in", partners]]], "kwargs": {"fields": ["name"]}})  # fmt: skip


def test_reads_are_served_by_the_replica_and_writes_by_the_primary(setup):
    primary_port = os.environ["PGPORT"]
    replica0, primary0 = counters(REPLICA_PORT)[0], counters(primary_port)[0]
    calls = 30
    for i in range(calls):
        answer = _read(setup.key, setup.partners, i)
        assert answer.status_code == 200, answer.text
    replica1 = settled(REPLICA_PORT, replica0, calls)
    primary1 = settled(primary_port, primary0, 10**6, timeout=2)
    assert replica1 - replica0 >= calls, (replica0, replica1)
    assert primary1 - primary0 <= 2, f"reads scanned res_partner on the primary: {primary1 - primary0}"

    with open(REPLICA_LOG, errors="replace") as handle:
        handle.seek(0, 2)
        start = handle.tell()
    name = uniq("Replica write")
    new = call("POST", "/api/res.partner/create", setup.key, base=REPLICA_URL, json={"name": name})
    assert new.status_code == 201, new.text
    changed = call("PUT", f"/api/res.partner/{new.json()['id']}", setup.key, base=REPLICA_URL,
                   json={"name": name + "!"})  # fmt: skip
    kw = call("POST", "/api/res.partner/execute_kw", setup.key, base=REPLICA_URL,
              json={"method": "write", "args": [[new.json()["id"]], {"comment": "kw"}]})  # fmt: skip
    assert changed.status_code == 200 and kw.status_code == 200, (changed.text, kw.text)
    assert setup.admin("res.partner", "read", [new.json()["id"]], ["name"])[0]["name"] == name + "!"
    deadline, seen = time.time() + 5, None
    while time.time() < deadline and seen != name + "!":
        seen = get(f"/api/res.partner/{new.json()['id']}", setup.key, fields="name").json().get("name")
        time.sleep(0.1)
    assert seen == name + "!", "the replica server does not read its own write back within 5 s"
    with open(REPLICA_LOG, errors="replace") as handle:
        handle.seek(start)
        assert REPLAYED_ON_READ_ONLY not in handle.read(), "a write ran on the replica first"


def test_a_revoked_key_stops_at_once_whatever_the_replica_lag(setup, make_key, admin):
    made = make_key()
    other = make_key()
    assert get("/api/res.partner/search", made["key"], limit=1).status_code == 200
    assert get("/api/res.partner/search", other["key"], limit=1).status_code == 200
    psql(REPLICA_PORT, "SELECT pg_wal_replay_pause()", "postgres")
    try:
        admin("rest.api.key", "write", [made["id"]], {"active": False})
        assert get("/api/res.partner/search", made["key"], limit=1).status_code == 401
        # a removed scope: the key now reaches countries only
        country = admin("ir.model", "search", [("model", "=", "res.country")])[0]
        admin("rest.api.key", "write", [other["id"]], {"all_models": False,
                                                       "scope_ids": [(0, 0, {"model_id": country, "perm_read": True})]})  # fmt: skip
        assert get("/api/res.partner/search", other["key"], limit=1).status_code == 403
        # a key made while the replica lags works at once
        fresh = make_key()
        assert get("/api/res.partner/search", fresh["key"], limit=1).status_code == 200
    finally:
        psql(REPLICA_PORT, "SELECT pg_wal_replay_resume()", "postgres")
        caught_up()


def test_an_archived_user_and_a_revoked_token_stop_at_once(setup, make_key, admin):
    login = uniq("replica-user")
    group = admin("ir.model.data", "check_object_reference", "base", "group_user")[1]
    user = admin("res.users", "create", {"name": login, "login": login, "password": "Pw-" + login,
                                          "groups_id": [(6, 0, [group])]})  # fmt: skip
    key = make_key(require_user_token=True)["key"]
    tokens = []
    for _i in range(2):
        answer = call(
            "POST",
            "/api/auth/login",
            key,
            source=loopback(),
            json={"login": login, "password": "Pw-" + login},
        )
        assert answer.status_code == 200, answer.text
        tokens.append(answer.json())
    caught_up()
    for token in tokens:
        assert get("/api/res.country/search", key, token=token["access_token"], limit=1).status_code == 200
    psql(REPLICA_PORT, "SELECT pg_wal_replay_pause()", "postgres")
    try:
        out = call("POST", "/api/auth/logout", key, token=tokens[0]["access_token"])
        assert out.status_code == 200, out.text
        assert (
            get("/api/res.country/search", key, token=tokens[0]["access_token"], limit=1).status_code == 401
        )
        assert (
            get("/api/res.country/search", key, token=tokens[1]["access_token"], limit=1).status_code == 200
        )
        admin("res.users", "write", [user], {"active": False})
        assert (
            get("/api/res.country/search", key, token=tokens[1]["access_token"], limit=1).status_code == 401
        )
    finally:
        psql(REPLICA_PORT, "SELECT pg_wal_replay_resume()", "postgres")
        caught_up()


def test_odoos_caches_are_cleared_on_the_replica_server_as_on_the_primary(setup, admin):
    """A record rule made on the primary: once the replica has it, the replica server applies it
    (Odoo's cache-invalidation sequences show late on a standby, or not at all)."""
    name = uniq("Secret")
    partner = admin("res.partner", "create", {"name": name})
    model = admin("ir.model", "search", [("model", "=", "res.partner")])[0]
    caught_up()
    found = get("/api/res.partner/search", setup.key, domain=f'[["name", "=", "{name}"]]', fields="name")
    assert found.status_code == 200 and found.headers["X-Total-Count"] == "1", found.text
    rule = admin("ir.rule", "create", {"name": uniq("hide"), "model_id": model,
                                       "domain_force": f"[('name', '!=', '{name}')]"})  # fmt: skip
    try:
        caught_up()
        for _i in range(6):  # both workers
            found = get(
                "/api/res.partner/search", setup.key, domain=f'[["name", "=", "{name}"]]', fields="name"
            )
            assert found.status_code == 200 and found.headers["X-Total-Count"] == "0", found.text
    finally:
        admin("ir.rule", "unlink", [rule])
        admin("res.partner", "unlink", [partner])


def test_calls_that_write_never_run_on_the_replica_first(setup):
    with open(REPLICA_LOG, errors="replace") as handle:
        handle.seek(0, 2)
        start = handle.tell()
    partner = setup.partners[3]
    exported = call("POST", "/api/res.partner/execute_kw", setup.key, base=REPLICA_URL,
                    json={"method": "export_data", "args": [[partner], ["id", "name"]]})  # fmt: skip
    assert exported.status_code == 200, exported.text
    headers = {"Idempotency-Key": uniq("replica-kept")}
    body = {"method": "read", "args": [[partner], ["name"]]}
    first = call(
        "POST", "/api/res.partner/execute_kw", setup.key, base=REPLICA_URL, json=body, headers=headers
    )
    again = call(
        "POST", "/api/res.partner/execute_kw", setup.key, base=REPLICA_URL, json=body, headers=headers
    )
    assert (
        first.status_code == again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true"
    )
    with open(REPLICA_LOG, errors="replace") as handle:
        handle.seek(start)
        assert REPLAYED_ON_READ_ONLY not in handle.read(), "a write ran on the replica first"


def test_a_lagging_replica_serves_stale_reads_for_at_most_ten_seconds(setup):
    partner = setup.partners[0]
    psql(REPLICA_PORT, "SELECT pg_wal_replay_pause()", "postgres")
    try:
        # written on the primary, then nothing asked of the replica server for a while
        quiet = uniq("Quiet")
        setup.admin("res.partner", "write", [partner], {"name": quiet})
        time.sleep(12)
        answer = get(f"/api/res.partner/{partner}", setup.key, fields="name")
        assert answer.status_code == 503 or answer.json()["name"] == quiet, answer.text
        name = uniq("Lagging")
        assert call("PUT", f"/api/res.partner/{partner}", setup.key, base=REPLICA_URL,
                    json={"name": name}).status_code == 200  # fmt: skip
        written, stale = time.time(), []
        while time.time() < written + 14:
            answer = get(f"/api/res.partner/{partner}", setup.key, fields="name")
            assert answer.status_code in (200, 503), answer.text
            if answer.status_code == 503:
                assert answer.headers.get("Retry-After")
            elif answer.json()["name"] != name:
                stale.append(round(time.time() - written, 1))
            time.sleep(0.5)
        assert max(stale, default=0) <= 10, f"stale reads at {stale} s after the write"
    finally:
        psql(REPLICA_PORT, "SELECT pg_wal_replay_resume()", "postgres")
        caught_up()


def test_throttling_is_exact_across_the_primary_and_the_replica_servers(setup, make_key):
    key = make_key(rate_limit=6, rate_limit_period=3600)["key"]
    codes = [_read(key, setup.partners, i, base=(URL, REPLICA_URL)[i % 2]).status_code for i in range(9)]
    assert codes == [200] * 6 + [429] * 3, codes


def test_zz_replica_down_reads_answered_counted_and_logged_then_back(setup, make_key, admin):
    """Last: stops the replica, then starts it again."""
    made = make_key(rate_limit=1000, rate_limit_period=3600, log_requests=True)
    key, answers = made["key"], []
    replica_ctl("stop")
    try:
        for i in range(12):
            answers.append(_read(key, setup.partners, i))
        answers.append(call("PUT", f"/api/res.partner/{setup.partners[1]}", key, base=REPLICA_URL,
                            json={"name": uniq("Outage")}))  # fmt: skip
    finally:
        replica_ctl("start")
    for answer in answers:
        assert answer.status_code in (200, 503), answer.text
        if answer.status_code == 503:
            assert answer.headers.get("Retry-After"), answer.headers
    assert answers[-1].status_code == 200  # the write
    left = [int(a.headers["RateLimit-Remaining"]) for a in answers]
    assert left == list(range(999, 999 - len(answers), -1)), left  # every call counted once
    deadline = time.time() + 15
    while time.time() < deadline and admin(
        "rest.api.log", "search_count", [("key_id", "=", made["id"])]
    ) < len(answers):
        time.sleep(0.5)
    assert admin("rest.api.log", "search_count", [("key_id", "=", made["id"])]) == len(answers)
    # back on the replica within a minute
    caught_up(timeout=30)
    deadline, history = time.time() + 70, []
    while time.time() < deadline:
        before = counters(REPLICA_PORT)[0]
        for i in range(6):
            assert get(f"/api/res.partner/{setup.partners[i % 4]}", key, fields="name").status_code == 200
        after = settled(REPLICA_PORT, before, 6)
        history.append(after - before)
        if after - before >= 6:
            break
    assert history[-1] >= 6, f"reads did not return to the replica within 70 s: scans per 6 reads {history}"
