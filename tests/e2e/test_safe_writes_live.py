"""API.md section 9 against a live server: versions under real, concurrent transactions."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from conftest import URL, URL2, assert_problem, call, uniq


def test_every_write_gives_a_new_version(admin, make_key):
    key = make_key()["key"]
    created = call("POST", "/api/res.partner/create", key, json={"name": uniq("v")},
                   headers={"Prefer": "return=representation"})  # fmt: skip
    assert created.status_code == 201, created.text
    path, first = f"/api/res.partner/{created.json()['id']}", created.headers["ETag"]
    assert call("GET", path, key, headers={"If-None-Match": first}).status_code == 304
    updated = call("PATCH", path, key, json={"email": "a@example.com"}, headers={"If-Match": first})
    assert updated.status_code == 200, updated.text
    second = call("GET", path, key).headers["ETag"]
    assert second != first
    assert_problem(
        call("PATCH", path, key, json={"email": "b@example.com"}, headers={"If-Match": first}), 412
    )
    assert call("GET", path, key, headers={"If-None-Match": first}).status_code == 200


def test_of_two_writers_holding_one_etag_exactly_one_wins(admin, make_key):
    key = make_key()["key"]
    for _round in range(5):
        partner = admin("res.partner", "create", {"name": uniq("race")})
        path = f"/api/res.partner/{partner}"
        tag = call("GET", path, key).headers["ETag"]
        bases = [URL, URL2 or URL] * 3  # both workers of one server, and a second server

        def write(index, tag=tag, path=path, bases=bases):
            return call("PUT", path, key, base=bases[index], json={"name": f"writer {index}"},
                        headers={"If-Match": tag}).status_code  # fmt: skip

        with ThreadPoolExecutor(max_workers=6) as pool:
            statuses = sorted(pool.map(write, range(6)))
        assert statuses == [200, 412, 412, 412, 412, 412], statuses
        name = admin("res.partner", "read", [partner], ["name"])[0]["name"]
        assert name.startswith("writer ")


def _at_once(count, send):
    """``send(index)`` from ``count`` threads released together: over both workers and the second server."""
    bases = [URL, URL2 or URL]
    barrier = threading.Barrier(count)

    def run(index):
        barrier.wait()
        return send(index, bases[index % len(bases)])

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_a_dozen_identical_idempotent_requests_at_once_create_one_record(admin, make_key):
    key, name, idem = make_key()["key"], uniq("idem-race"), uniq("idem")
    answers = _at_once(12, lambda _i, base: call("POST", "/api/res.partner/create", key, base=base,
                                                 json={"name": name}, headers={"Idempotency-Key": idem}))  # fmt: skip
    assert admin("res.partner", "search_count", [("name", "=", name)]) == 1
    statuses = sorted(answer.status_code for answer in answers)
    assert set(statuses) <= {201, 409}, statuses
    ran = [a for a in answers if a.status_code == 201 and "Idempotent-Replayed" not in a.headers]
    assert len(ran) == 1, statuses
    for answer in answers:
        if answer.status_code == 409:
            assert_problem(answer, 409)
            assert int(answer.headers["Retry-After"]) >= 1
    final = call(
        "POST", "/api/res.partner/create", key, json={"name": name}, headers={"Idempotency-Key": idem}
    )
    assert (final.status_code, final.headers.get("Idempotent-Replayed")) == (201, "true")
    assert final.json() == ran[0].json()


def test_while_the_first_runs_a_duplicate_is_409_then_it_is_replayed(admin, make_key):
    key, name, idem = make_key()["key"], uniq("idem-slow"), uniq("idem")
    # each operation names the one before it: they run one by one (consecutive creates
    # of one model would run as one create of their list, done too soon)
    body = {"operations": [{"method": "POST", "path": "/api/res.partner/create",
                            "body": [{"name": name, "comment": "x" * 200,
                                      **({"parent_id": f"${{{i - 1}.ids.0}}"} if i else {})}] * 5}
                           for i in range(100)]}  # fmt: skip
    send = lambda base=URL: call("POST", "/api/batch", key, base=base, json=body,  # noqa: E731
                                 headers={"Idempotency-Key": idem})  # fmt: skip
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(send)
        time.sleep(0.3)  # a head start: it runs for seconds (100 creates of 5 records)
        duplicates = []
        while not first.done():  # over the other worker and the second server
            duplicates.append(send(URL2 or URL))
    first = first.result()
    assert first.status_code == 200 and "Idempotent-Replayed" not in first.headers, first.text[:300]
    assert admin("res.partner", "search_count", [("name", "=", name)]) == 500
    running = [d for d in duplicates if d.status_code == 409]
    assert running, [d.status_code for d in duplicates]
    for answer in running:
        assert_problem(answer, 409)
        assert answer.headers["Retry-After"] == "1"
    replayed = [d for d in duplicates if d.status_code != 409] + [send(), send(URL2 or URL)]
    for answer in replayed:
        assert (answer.status_code, answer.headers.get("Idempotent-Replayed")) == (200, "true")
        assert answer.json() == first.json()
    assert admin("res.partner", "search_count", [("name", "=", name)]) == 500


def test_a_rolled_back_client_error_is_kept_and_replayed(admin, make_key):
    key, idem = make_key()["key"], uniq("idem-422")
    body = {"email": "nameless@example.com", "type": "contact"}  # Odoo: "Contacts require a name"
    first = call("POST", "/api/res.partner/create", key, json=body, headers={"Idempotency-Key": idem})
    assert_problem(first, 422)
    again = call("POST", "/api/res.partner/create", key, json=body, headers={"Idempotency-Key": idem})
    assert again.status_code == 422 and again.headers.get("Idempotent-Replayed") == "true", again.text
    # the first answer as it was: its body names the request that ran (the replay has its own X-Request-Id)
    assert again.json() == first.json()
    assert again.headers["X-Request-Id"] != first.headers["X-Request-Id"]
    other = call(
        "POST", "/api/res.partner/create", key, json={"name": "x"}, headers={"Idempotency-Key": idem}
    )
    assert_problem(other, 422)
    assert "Idempotent-Replayed" not in other.headers


def test_first_puts_of_one_external_id_at_once_make_one_record(admin, make_key):
    key, module = make_key()["key"], "e2e_" + uniq("x").replace("-", "_")
    tag = uniq("xmlid-race")
    answers = _at_once(8, lambda i, base: call("PUT", f"/api/res.partner/xmlid/{module}.race", key, base=base,
                                               json={"name": f"racer {i}", "ref": tag}))  # fmt: skip
    assert sorted(a.status_code for a in answers) == [200] * 7 + [201], [a.text[:200] for a in answers]
    assert admin("res.partner", "search_count", [("ref", "=", tag)]) == 1
    assert len(admin("ir.model.data", "search", [("module", "=", module), ("name", "=", "race")])) == 1


def test_a_batch_is_one_transaction_on_a_live_server(admin, make_key):
    key, name = make_key()["key"], uniq("batch")
    ok = call("POST", "/api/batch", key, json={"operations": [
        {"method": "POST", "path": "/api/res.partner/create", "body": [{"name": name}, {"name": name + "-2"}]},
        {"method": "PATCH", "path": "/api/res.partner/${0.ids.1}", "body": {"parent_id": "${0.ids.0}"}},
    ]})  # fmt: skip
    assert ok.status_code == 200, ok.text
    first, second = ok.json()["results"][0]["body"]["ids"]
    assert admin("res.partner", "read", [second], ["parent_id"])[0]["parent_id"][0] == first
    failed = call("POST", "/api/batch", key, json={"operations": [
        {"method": "PATCH", "path": f"/api/res.partner/{first}", "body": {"ref": "batch wrote this"}},
        {"method": "POST", "path": "/api/res.partner/create", "body": {"email": "no name"}},
    ]})  # fmt: skip
    assert_problem(failed, 422)
    assert failed.json()["operation"] == 1
    assert admin("res.partner", "read", [first], ["ref"])[0]["ref"] is False


def test_grouped_creates_count_as_sent_alone_when_one_fails(admin, make_key):
    """Consecutive creates run as one ORM create; when it fails (a barcode twice: the
    model's check sees both), the batch is undone and runs again one by one: the
    operations before the refused one are counted once each, those after it not at all
    (the counts are kept outside the transaction)."""
    key, name = make_key(rate_limit=30, rate_limit_period=3600)["key"], uniq("grouped")
    barcode, partner = uniq("bc"), admin("res.partner", "create", {"name": uniq("patched")})
    operations = [{"method": "PATCH", "path": f"/api/res.partner/{partner}", "body": {"ref": name}}] + [
        {"method": "POST", "path": "/api/res.partner/create",
         "body": dict({"name": f"{name} {number}"}, **({"barcode": barcode} if number in (1, 3) else {}))}
        for number in range(6)
    ]  # fmt: skip
    failed = call("POST", "/api/batch", key, json={"operations": operations})
    assert assert_problem(failed, 422)["operation"] == 4  # the second barcode
    assert admin("res.partner", "search_count", [("name", "=like", f"{name} %")]) == 0
    assert admin("res.partner", "read", [partner], ["ref"])[0]["ref"] is False
    after = call("GET", f"/api/res.partner/{partner}", key)
    # the batch, its operations 0 to 4 (4 refused), then this call: 7 of 30
    assert after.headers["RateLimit-Remaining"] == "23", after.headers
    done = call("POST", "/api/batch", key, json={"operations": operations[:4]})
    assert [r["status"] for r in done.json()["results"]] == [200, 201, 201, 201], done.text
    assert admin("res.partner", "search_count", [("name", "=like", f"{name} %")]) == 3
