"""Cursor paging (API.md section 10) against a live server: cursors made by one
worker (or server) are read by any other, every record comes once while
others commit, and cursors that are altered or not the caller's are 400."""

import json
import re
from urllib.parse import parse_qs, urlsplit

from conftest import URL, URL2, assert_problem, call, uniq

LINK_RE = re.compile(r'<([^>]*)>; rel="(\w+)"')


def links(response):
    return {rel: url for url, rel in LINK_RE.findall(response.headers.get("Link", ""))}


def cursor_of(url):
    return parse_qs(urlsplit(url).query)["cursor"][0]


def seed(admin, count):
    tag = uniq("cursor")
    values = [
        {"name": f"{tag} {i % 5}", "ref": tag, "city": [None, "x", "y"][i % 3] or False} for i in range(count)
    ]
    return tag, admin("res.partner", "create", values)


def walk(key, response, rel="next", bases=(URL,)):
    pages, turn = [response], 0
    while url := links(response).get(rel):
        assert "cursor=" in url and "offset=" not in url, url
        turn += 1
        response = call("GET", url, key, base=bases[turn % len(bases)])
        assert response.status_code == 200, response.text
        pages.append(response)
        assert len(pages) < 100
    return pages


def ids(pages):
    return [row["id"] for page in pages for row in page.json()]


def test_every_record_once_forward_and_back_across_workers_and_servers(make_key, admin):
    key = make_key()["key"]
    tag, created = seed(admin, 57)
    params = {
        "domain": json.dumps([["ref", "=", tag]]),
        "fields": "name,city",
        "order": "city desc",
        "limit": 10,
    }
    expected = admin("res.partner", "search", [("ref", "=", tag)], order="city desc, id asc")
    assert sorted(expected) == sorted(created)
    bases = (URL, URL2) if URL2 else (URL,)
    first = call("GET", "/api/res.partner/search", key, params=params)
    forward = walk(key, first, bases=bases)
    assert ids(forward) == expected and len(forward) == 6
    assert {page.headers["X-Total-Count"] for page in forward} == {"57"}
    backward = walk(key, forward[-1], "prev", bases=bases)
    assert ids(reversed(backward)) == expected


def test_a_walk_sees_what_commits_after_its_position_and_nothing_twice(make_key, admin):
    key = make_key()["key"]
    tag, created = seed(admin, 30)
    params = {"domain": json.dumps([["ref", "=", tag]]), "fields": "name", "limit": 7}  # default order
    first = call("GET", "/api/res.partner/search", key, params=params)
    seen = [row["id"] for row in first.json()]
    late = admin("res.partner", "create", {"name": f"{tag} 9 late", "ref": tag})  # sorts after every name
    admin("res.partner", "unlink", seen[:3])  # behind the position: shifts nothing
    rest = ids(walk(key, call("GET", links(first)["next"], key)))
    assert not set(rest) & set(seen)
    assert set(rest) == (set(created) - set(seen)) | {late}
    assert len(rest) == len(set(rest))


def test_altered_and_foreign_cursors_are_400(make_key, admin, employee):
    key, other = make_key()["key"], make_key(user_id=employee.id)["key"]
    tag, _created = seed(admin, 5)
    first = call("GET", "/api/res.partner/search", key,
                 params={"domain": json.dumps([["ref", "=", tag]]), "order": "name", "limit": 2})  # fmt: skip
    cursor = cursor_of(links(first)["next"])
    assert call("GET", "/api/res.partner/search", key, params={"cursor": cursor}).status_code == 200
    middle = len(cursor) // 2
    for bad in (cursor[:middle] + ("B" if cursor[middle] == "A" else "A") + cursor[middle + 1 :], cursor[:-4],
                cursor + "A"):  # fmt: skip
        body = assert_problem(call("GET", "/api/res.partner/search", key, params={"cursor": bad}), 400)
        assert "altered" in body["detail"]
    body = assert_problem(call("GET", "/api/res.partner/search", other, params={"cursor": cursor}), 400)
    assert "another API key or user" in body["detail"]
    body = assert_problem(
        call("GET", "/api/res.partner/search", key, params={"cursor": cursor, "order": "id"}), 400
    )
    assert "another search" in body["detail"]
    body = assert_problem(call("GET", "/api/res.users/search", key, params={"cursor": cursor}), 400)
    assert "another model" in body["detail"]
