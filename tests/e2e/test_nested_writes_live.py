"""Nested writes (API.md section 10) against the live prefork server: a partner
with its contacts (child_ids, a one2many) and tags (category_id, a many2many)
written as line objects and ids, as a client would; the walls of section 8 on
the same bodies. Set-up and checks go through XML-RPC as an admin script would."""

from conftest import assert_problem, call, uniq
from test_walls_live import scoped

PARTNER = "res.partner"


def _read(admin, ids, *names):
    return admin(PARTNER, "read", ids, list(names))


def _company(admin):
    """A company with two contacts and one tag: (company id, [contact ids], tag id)."""
    tag = admin("res.partner.category", "create", {"name": uniq("nest-tag")})
    company = admin(
        PARTNER, "create", {"name": uniq("nest-co"), "is_company": True, "category_id": [(6, 0, [tag])]}
    )
    kids = [admin(PARTNER, "create", {"name": uniq("nest-kid"), "parent_id": company}) for _ in range(2)]
    return company, kids, tag


def test_create_a_partner_with_contacts_tags_and_a_country_object(admin, make_key):
    key = make_key()["key"]
    tag = admin("res.partner.category", "create", {"name": uniq("nest-tag")})
    country = admin("res.country", "search", [("code", "=", "BE")])[0]
    name = uniq("nest-new")
    body = {"name": name, "is_company": True, "country_id": {"id": country},
            "child_ids": [{"name": name + " A", "email": "a@nest.test"}, {"name": name + " B"}],
            "category_id": [tag, {"name": name + " tag"}]}  # fmt: skip
    response = call("POST", f"/api/{PARTNER}/create", key, json=body)
    assert response.status_code == 201, response.text
    made = _read(admin, [response.json()["id"]], "country_id", "child_ids", "category_id")[0]
    assert made["country_id"][0] == country
    assert sorted(r["name"] for r in _read(admin, made["child_ids"], "name")) == [name + " A", name + " B"]
    tags = admin("res.partner.category", "read", made["category_id"], ["name"])
    assert {t["id"] for t in tags} >= {tag} and name + " tag" in {t["name"] for t in tags}
    # an object naming a line: a new record has none
    body = {"name": name, "child_ids": [{"id": made["child_ids"][0], "name": "x"}]}
    assert (
        "has no lines yet"
        in assert_problem(call("POST", f"/api/{PARTNER}/create", key, json=body), 400)["detail"]
    )


def test_update_delete_link_and_unlink_lines(admin, make_key):
    key = make_key()["key"]
    company, (kid, other_kid), tag = _company(admin)
    new_tag = admin("res.partner.category", "create", {"name": uniq("nest-tag")})
    body = {"child_ids": [{"id": kid, "email": "kid@nest.test"}, {"id": other_kid, "_delete": True}, {"name": uniq("nest-c")}],
            "category_id": [new_tag, {"id": tag, "_delete": True}]}  # fmt: skip
    response = call("PATCH", f"/api/{PARTNER}/{company}", key, json=body)
    assert response.status_code == 200, response.text
    after = _read(admin, [company], "child_ids", "category_id")[0]
    assert kid in after["child_ids"] and other_kid not in after["child_ids"] and len(after["child_ids"]) == 2
    assert not admin(PARTNER, "search", [("id", "=", other_kid)])  # a one2many line: deleted
    assert after["category_id"] == [new_tag]
    assert admin("res.partner.category", "search", [("id", "=", tag)])  # a many2many line: unlinked only
    assert _read(admin, [kid], "email")[0]["email"] == "kid@nest.test"
    # lines not named are left as they are
    response = call("PATCH", f"/api/{PARTNER}/{company}", key, json={"child_ids": [{"name": uniq("nest-d")}]})
    assert response.status_code == 200 and kid in _read(admin, [company], "child_ids")[0]["child_ids"]


def test_a_line_of_another_record_is_400_and_nothing_is_written(admin, make_key):
    key = make_key()["key"]
    company, (kid, _other), _tag = _company(admin)
    elsewhere, (stranger, _x), other_tag = _company(admin)
    for body in (
        {"child_ids": [{"id": stranger, "name": "hijacked"}]},
        {"child_ids": [{"id": kid, "ref": "ok"}, {"id": stranger, "_delete": True}]},
        {"category_id": [{"id": other_tag, "name": "hijacked"}]},
    ):
        assert_problem(call("PUT", f"/api/{PARTNER}/{company}", key, json=body), 400)
    assert _read(admin, [stranger], "name", "parent_id")[0]["parent_id"][0] == elsewhere
    assert _read(admin, [kid], "ref")[0]["ref"] is False
    assert admin("res.partner.category", "read", [other_tag], ["name"])[0]["name"].startswith("nest-tag")


def test_the_walls_hold_on_line_objects(admin, make_key):
    company, (kid, _other), tag = _company(admin)
    path = f"/api/{PARTNER}/{company}"
    # creating a tag needs create on tags; deleting a contact needs delete on partners
    writer, _id = scoped(admin, make_key, **{PARTNER: "rwc", "res.partner.category": "rw"})
    assert_problem(call("PUT", path, writer, json={"category_id": [{"name": uniq("nest-walled")}]}), 403)
    assert_problem(call("PUT", path, writer, json={"child_ids": [{"id": kid, "_delete": True}]}), 403)
    assert admin(PARTNER, "search", [("id", "=", kid)])
    response = call("PUT", path, writer, json={"category_id": [{"id": tag, "name": uniq("nest-renamed")}]})
    assert response.status_code == 200, response.text
    deleter, _id = scoped(admin, make_key, **{PARTNER: "rwcd"})
    assert call("PUT", path, deleter, json={"child_ids": [{"id": kid, "_delete": True}]}).status_code == 200
    assert not admin(PARTNER, "search", [("id", "=", kid)])
