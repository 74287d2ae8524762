"""API.md section 9 against a live server: versions under real, concurrent transactions."""

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
