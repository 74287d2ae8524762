"""API.md section 13 on a live server: the change feed never misses or repeats a
change, whatever the timing of concurrent transactions.

- writers on both servers create, write and delete partners while a client
  pages through a full sync and then through the changes, cursor after
  cursor: what the client holds at the end is the database, and no answer
  repeats a state it already gave;
- a transaction that began before a page was read and commits after it (the
  case ``write_date`` misses) comes in a later page.
"""

import json
import os
import random
import threading
import time

import psycopg2
import pytest
from conftest import DB, URL, URL2, call, uniq

PATH = "/api/res.partner/changes"


@pytest.fixture(scope="module")
def tracked(admin):
    model_id = admin("ir.model", "search", [("model", "=", "res.partner")])[0]
    found = admin(
        "rest.api.sync.model", "search", [("model_id", "=", model_id)], context={"active_test": False}
    )
    if found:
        admin("rest.api.sync.model", "write", found, {"active": True})
    else:
        admin("rest.api.sync.model", "create", {"model_id": model_id})
    time.sleep(0.5)  # every worker reads the tracked models again at its next request
    return model_id


def feed(key, params, base=None):
    answer = call("GET", PATH, key=key, params=params, base=base)
    assert answer.status_code == 200, answer.text[:500]
    body = answer.json()
    ids = [change["id"] for change in body["changes"]]
    assert len(ids) == len(set(ids)), f"a record twice in one answer: {ids}"
    return body


class Holder:
    """What an offline client keeps: its records, and every state each record was sent in."""

    def __init__(self):
        self.records, self.sent = {}, {}

    def apply(self, body):
        for change in body["changes"]:
            if change["op"] == "upsert":
                state = change["record"]["ref"]
                seen = self.sent.setdefault(change["id"], [])
                assert state not in seen, (
                    f"record {change['id']} sent again in a state it was sent in: {state}"
                )
                seen.append(state)
                self.records[change["id"]] = change["record"]
            else:
                self.records.pop(change["id"], None)
                self.sent.setdefault(change["id"], []).append("deleted")

    def catch_up(self, key, cursor, base=None):
        while True:
            body = feed(key, {"cursor": cursor}, base=base)
            self.apply(body)
            cursor = body["cursor"]
            if not body["more"]:
                return cursor


def test_concurrent_writers_on_two_servers_while_a_client_pages(admin, make_key, tracked):
    key = make_key()["key"]
    marker = uniq("sync")
    domain = json.dumps([["name", "=like", f"{marker}%"]])
    counter = iter(range(10**9))
    lock = threading.Lock()

    def next_ref():
        with lock:
            return f"{marker}-{next(counter)}"

    seed = [
        admin("res.partner", "create", {"name": f"{marker} seed {n}", "ref": next_ref()}) for n in range(30)
    ]
    stop, errors = threading.Event(), []

    def writer(base, seed_ids):
        mine = list(seed_ids)
        rnd = random.Random(base)
        try:
            while not stop.is_set():
                roll = rnd.random()
                if roll < 0.35 or not mine:
                    answer = call("POST", "/api/res.partner/create", key=key, base=base,
                                  json={"name": f"{marker} w", "ref": next_ref()})  # fmt: skip
                    assert answer.status_code == 201, answer.text[:300]
                    mine.append(answer.json()["id"])
                elif roll < 0.85:
                    record = rnd.choice(mine)
                    answer = call(
                        "PUT", f"/api/res.partner/{record}", key=key, base=base, json={"ref": next_ref()}
                    )
                    assert answer.status_code == 200, answer.text[:300]
                else:
                    record = mine.pop(rnd.randrange(len(mine)))
                    answer = call("DELETE", f"/api/res.partner/{record}", key=key, base=base)
                    assert answer.status_code == 200, answer.text[:300]
        except Exception as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    servers = [URL, URL2 or URL]
    threads = [
        threading.Thread(target=writer, args=(servers[n % 2], seed[n::3]), daemon=True) for n in range(3)
    ]  # fmt: skip
    for thread in threads:
        thread.start()
    holder = Holder()
    try:
        body = feed(key, {"domain": domain, "fields": "name,ref", "limit": 7})
        holder.apply(body)
        pages = 1
        # the full sync, then changes while the writers write: 25 pages at least, then until the
        # client caught up, or 200 pages (three writers may write faster than pages of 7 are read)
        while pages < 25 or (body["more"] and pages < 200):
            body = feed(key, {"cursor": body["cursor"]}, base=servers[pages % 2])
            holder.apply(body)
            pages += 1
            time.sleep(0.05)
        cursor = body["cursor"]
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert not errors, errors
    cursor = holder.catch_up(key, cursor)
    truth = {
        row["id"]: row
        for row in admin("res.partner", "search_read", [("name", "=like", f"{marker}%")], ["name", "ref"])
    }
    assert holder.records == truth, (
        f"missing {sorted(set(truth) - set(holder.records))[:10]}, extra "
        f"{sorted(set(holder.records) - set(truth))[:10]}, stale "
        f"{[i for i in truth if i in holder.records and holder.records[i] != truth[i]][:10]}"
    )
    assert len(truth) > 30 and sum(len(states) for states in holder.sent.values()) > len(truth)
    quiet = feed(key, {"cursor": cursor})
    assert quiet["changes"] == [] and quiet["more"] is False


def _connect():
    return psycopg2.connect(dbname=DB)


@pytest.mark.skipif(not os.environ.get("PGPORT"), reason="needs the e2e cluster (PGHOST/PGPORT)")
def test_a_transaction_open_across_a_page_comes_in_a_later_page(admin, make_key, tracked):
    """The transaction begins (and writes) before a page is read, and commits after it:
    ``write_date`` (its start time) would put it before the page; the feed lists it next."""
    key = make_key()["key"]
    marker = uniq("open")
    early, late = (
        admin("res.partner", "create", {"name": f"{marker} {n}", "ref": "0"}) for n in ("early", "late")
    )
    domain = json.dumps([["name", "=like", f"{marker}%"]])
    first = feed(key, {"domain": domain, "fields": "name,ref"})
    assert sorted(change["id"] for change in first["changes"]) == sorted([early, late])
    slow = _connect()
    try:
        with slow.cursor() as cr:  # what Odoo writes for a tracked change, in a transaction left open
            cr.execute("UPDATE res_partner SET ref = 'from the slow transaction' WHERE id = %s", [early])
            cr.execute(
                "INSERT INTO rest_api_change (model, noted_at, ids, hooked) "
                "VALUES ('res.partner', now() AT TIME ZONE 'UTC', ARRAY[%s], false)",
                [early],
            )
        admin("res.partner", "write", [late], {"ref": "committed meanwhile"})
        second = feed(key, {"cursor": first["cursor"]})
        assert [(c["id"], c["record"]["ref"]) for c in second["changes"]] == [(late, "committed meanwhile")]
        slow.commit()
    finally:
        slow.close()
    third = feed(key, {"cursor": second["cursor"]})
    assert [(c["id"], c["record"]["ref"]) for c in third["changes"]] == [(early, "from the slow transaction")]
    assert feed(key, {"cursor": third["cursor"]})["changes"] == []
