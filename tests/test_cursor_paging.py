"""Cursor paging of GET /api/<model>/search (API.md section 10)."""

import base64
import json
import re
import zlib
from urllib.parse import parse_qs, urlsplit

from odoo.tests import new_test_user, tagged

from ..infra import keyset
from ..lib import cursors
from .common import RestApiCase, recorded_statements

LINK_RE = re.compile(r'<([^>]*)>; rel="(\w+)"')
REFS = [None, "a", "b", "b", "c"]
CITIES = [None, "x", "y"]
COLORS = [None, 1, 2, 2]
LATITUDES = [None, 1.5, 2.25, 2.25]


def links(response):
    return {rel: url for url, rel in LINK_RE.findall(response.headers.get("Link", ""))}


def query_of(url):
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def payload(text):
    """What a cursor carries, read without its key (it is signed, not sealed)."""
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    data = raw[2 + cursors.CALLER_BYTES : -cursors.TAG_BYTES]
    return json.loads(zlib.decompress(data) if raw[1] & cursors.COMPRESSED else data)


@tagged("post_install", "-at_install")
class TestCursorPaging(RestApiCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.partners = cls.env["res.partner"].create(
            [
                {
                    "name": f"Cursor {i % 7}",  # duplicates in the default order (complete_name)
                    "email": f"p{i}@cursor.test",
                    "ref": REFS[i % len(REFS)],
                    "city": CITIES[i % len(CITIES)],
                    "is_company": i % 3 == 0,
                }
                for i in range(23)
            ]
        )
        # NULL numbers, which the ORM never writes (it writes 0)
        for i, partner in enumerate(cls.partners):
            cls.env.cr.execute(
                "UPDATE res_partner SET color = %s, partner_latitude = %s WHERE id = %s",
                [COLORS[i % len(COLORS)], LATITUDES[i % len(LATITUDES)], partner.id],
            )
        cls.partners.invalidate_recordset()
        cls.domain = '[["email", "=like", "%@cursor.test"]]'

    def search(self, key=None, **params):
        return self.get("/api/res.partner/search", key=key, params=dict({"domain": self.domain}, **params))

    def follow(self, url, key=None, headers=None):
        headers = dict(headers or {}, **{"api-key": key or self.key})
        return self.opener.get(self.base_url() + url, headers=headers, timeout=30)

    def expected(self, order):
        """Odoo's own order of the records, with the plan's order (``id`` last)."""
        Partner = self.env["res.partner"]
        plan = keyset.plan(Partner, order, Partner._fields)
        self.assertIsNotNone(plan, order)
        return Partner.search([("email", "=like", "%@cursor.test")], order=plan.order).ids

    def walk(self, rel, response, key=None, total="23"):
        """Every page from ``response`` on, following ``rel`` links; checks each link is a cursor."""
        pages = [response]
        while url := links(response).get(rel):
            self.assertIn("cursor", query_of(url))
            self.assertNotIn("offset", query_of(url))
            response = self.follow(url, key)
            self.assertEqual(response.status_code, 200, response.text)
            self.assertEqual(response.headers["X-Total-Count"], total)
            pages.append(response)
            self.assertLess(len(pages), 30, "the links never end")
        return pages

    def ids(self, pages):
        return [row["id"] for page in pages for row in page.json()]

    # ------------------------------------------------------------ every record once, both ways
    def test_forward_and_back_through_every_record_once(self):
        orders = [
            None,  # res.partner's own: complete_name ASC, id DESC
            "ref",
            "ref desc",
            "ref asc nulls first",
            "ref desc nulls last",
            "color desc, city",
            "partner_latitude, ref desc nulls last",
            "is_company desc, city desc",
            "create_date desc",  # one transaction: every value the same
            "id desc",
        ]
        for order in orders:
            for fields in ("name,ref,color", None):  # the plain page, and the ORM's
                with self.subTest(order=order, fields=fields):
                    params = {
                        "limit": 4,
                        **({"order": order} if order else {}),
                        **({"fields": fields} if fields else {}),
                    }
                    first = self.search(**params)
                    self.assertEqual(first.status_code, 200, first.text)
                    forward = self.walk("next", first)
                    expected = self.expected(order)
                    self.assertEqual(self.ids(forward), expected)
                    self.assertEqual(len(forward), 6)
                    backward = self.walk("prev", forward[-1])
                    self.assertEqual(self.ids(reversed(backward)), expected)
                    if fields:
                        self.assertEqual(set(forward[-1].json()[0]), {"id", "name", "ref", "color"})

    def test_a_page_by_offset_links_by_cursor_and_offset_keeps_working(self):
        expected = self.expected("ref")
        middle = self.search(order="ref", limit=5, offset=7)
        self.assertEqual([row["id"] for row in middle.json()], expected[7:12])
        found = links(middle)
        self.assertEqual([r["id"] for r in self.follow(found["next"]).json()], expected[12:17])
        self.assertEqual([r["id"] for r in self.follow(found["prev"]).json()], expected[2:7])

    def test_the_cursor_alone_continues_its_search(self):
        context = '{"active_test": false}'
        archived = self.env["res.partner"].create(
            {"name": "archived", "email": "old@cursor.test", "active": False}
        )
        first = self.search(order="color desc", fields="name,color", limit=5, context=context)
        cursor = query_of(links(first)["next"])["cursor"]
        self.assertEqual(set(query_of(links(first)["next"])), {"limit", "cursor"})
        alone = self.get("/api/res.partner/search", params={"cursor": cursor})
        self.assertEqual(alone.status_code, 200, alone.text)
        Partner = self.env["res.partner"].with_context(active_test=False)
        expected = Partner.search([("email", "=like", "%@cursor.test")], order="color desc, id asc").ids
        self.assertIn(archived.id, expected[5:])  # the remembered context reaches it
        self.assertEqual([r["id"] for r in alone.json()], expected[5:])
        self.assertEqual(set(alone.json()[0]), {"id", "name", "color"})
        self.assertEqual(alone.headers["X-Total-Count"], "24")
        same = self.search(order="color desc", fields="name,color", limit=5, cursor=cursor, context=context)
        self.assertEqual(same.status_code, 200, same.text)

    def test_a_nested_read_pages_by_cursor_and_its_cursor_remembers_the_specification(self):
        self.partners.write({"country_id": self.env.ref("base.be").id})
        first = self.search(order="ref desc", fields="name,country_id{code}", limit=4)
        cursor = query_of(links(first)["next"])["cursor"]
        alone = self.get("/api/res.partner/search", params={"cursor": cursor, "limit": 30})
        self.assertEqual(alone.status_code, 200, alone.text)
        self.assertEqual([r["id"] for r in alone.json()], self.expected("ref desc")[4:])
        self.assertEqual(alone.json()[0]["country_id"], {"id": self.env.ref("base.be").id, "code": "BE"})
        plain = self.get("/api/res.partner/search", params={"cursor": cursor, "fields": "name,country_id"})
        self.assertIn("another search", self.assertProblem(plain, 400)["detail"])

    def test_the_keyset_replaces_the_offset_in_sql(self):
        first = self.search(order="ref", fields="name", limit=4)
        url = links(self.follow(links(first)["next"]))["next"]
        with recorded_statements() as seen:
            deep = self.follow(url)
        self.assertEqual(deep.status_code, 200)
        page = [statement for statement in seen if "ORDER BY" in statement and "res_partner" in statement]
        self.assertTrue(page, seen)
        self.assertTrue(all("OFFSET" not in statement for statement in page), page)
        self.assertTrue(any('"res_partner"."ref" >=' in statement for statement in page), page)

    def test_rows_added_before_the_position_are_not_seen_and_rows_after_are(self):
        first = self.search(order="ref", fields="name", limit=6)
        before = self.env["res.partner"].create({"name": "early", "email": "early@cursor.test", "ref": "a"})
        after = self.env["res.partner"].create({"name": "late", "email": "late@cursor.test", "ref": "z"})
        walked = self.ids([first, *self.walk("next", self.follow(links(first)["next"]), total="25")])
        self.assertNotIn(before.id, walked)
        self.assertIn(after.id, walked)
        self.assertEqual(len(walked), len(set(walked)))

    # ------------------------------------------------------------ refusals
    def test_tampered_foreign_and_mixed_cursors_are_400(self):
        first = self.search(order="ref", fields="name", limit=4)
        cursor = query_of(links(first)["next"])["cursor"]
        middle = len(cursor) // 2
        tampered = cursor[:middle] + ("A" if cursor[middle] != "A" else "B") + cursor[middle + 1 :]
        for params, detail in (
            ({"cursor": tampered}, "altered"),
            ({"cursor": cursor[:-4]}, "altered"),
            ({"cursor": cursor, "offset": "4"}, "not both"),
            ({"cursor": cursor, "order": "ref desc"}, "another search"),
            ({"cursor": cursor, "fields": "name,email"}, "another search"),
            ({"cursor": cursor, "domain": '[["email", "=like", "p1%"]]'}, "another search"),
            ({"cursor": cursor, "context": '{"active_test": false}'}, "another search"),
        ):
            with self.subTest(params=params):
                body = self.assertProblem(self.get("/api/res.partner/search", params=params), 400)
                self.assertIn(detail, body["detail"])
                self.assertNotIn(cursor[:20], body["detail"])
        other_model = self.get("/api/res.country/search", params={"cursor": cursor})
        self.assertIn("another model", self.assertProblem(other_model, 400)["detail"])

    def test_a_cursor_acts_only_for_the_key_and_user_it_was_given_to(self):
        first = self.search(order="ref", fields="name", limit=4)
        url = links(first)["next"]
        self.assertEqual(self.follow(url).status_code, 200)
        other_key = self.make_key(self.admin)  # the same user, another key
        for key in (self.limited_key, other_key):
            self.assertIn("another API key or user", self.assertProblem(self.follow(url, key), 400)["detail"])
        manager = new_test_user(self.env, login="rest_cursor_manager",
                                groups="base.group_user,base.group_partner_manager,rest_api.group_rest_api_manager")  # fmt: skip
        manager_key = self.make_key(manager)
        token = self.call("POST", "/api/generate_token", key=manager_key,
                          body={"user_id": self.limited.id, "expiration_days": 1}).json()["login_token"]  # fmt: skip
        own = links(self.search(key=manager_key, order="ref", fields="name", limit=4))["next"]
        self.assertEqual(self.follow(own, manager_key).status_code, 200)
        as_other_user = self.follow(own, manager_key, headers={"token": token})
        self.assertIn("another API key or user", self.assertProblem(as_other_user, 400)["detail"])

    # ------------------------------------------------------------ what a cursor carries, and when there is none
    def test_a_cursor_carries_the_search_and_the_order_values_only(self):
        first = self.search(order="ref desc", fields="name", limit=4)
        last = first.json()[-1]
        carried = payload(query_of(links(first)["next"])["cursor"])
        row = self.env["res.partner"].browse(last["id"])
        self.assertEqual(carried[-1], [row.ref or None, str(row.id)])
        self.assertEqual(carried[:5], ["res.partner", json.loads(self.domain), ["name"], "ref desc", None])
        self.assertNotIn(row.email, json.dumps(carried))

    def test_orders_through_relations_or_translations_keep_offset(self):
        for path, params in (
            ("/api/res.partner/search", {"domain": self.domain, "order": "parent_id", "limit": 4}),
            ("/api/res.country/search", {"limit": 4}),  # name, translated
            ("/api/res.country/search", {"limit": 4, "order": "name"}),
        ):
            with self.subTest(path=path, params=params):
                next_url = links(self.get(path, params=params))["next"]
                self.assertIn("offset", query_of(next_url))
                self.assertNotIn("cursor", query_of(next_url))

    def test_a_search_too_long_for_a_cursor_links_by_offset(self):
        names = [f"{i:05d}-{i * 7919 % 100003:06d}-{i * 104729 % 99991:05d}" for i in range(1500)]
        domain = json.dumps(["|", ["email", "=like", "%@cursor.test"], ["name", "in", names]])
        response = self.get("/api/res.partner/search", params={"domain": domain, "order": "ref", "limit": 4})
        self.assertEqual(response.status_code, 200, response.text[:300])
        self.assertEqual(query_of(links(response)["next"])["offset"], "4")
        short = self.search(order="ref", limit=4)
        self.assertIn("cursor", query_of(links(short)["next"]))

    def test_a_plan_needs_readable_plain_columns_of_the_model_itself(self):
        Partner, Users = self.env["res.partner"], self.env["res.users"]
        self.assertEqual(keyset.plan(Partner, None, Partner._fields).order, "complete_name asc, id desc")
        self.assertIsNone(keyset.plan(Partner, "ref", {"id", "name"}))  # ref unreadable: no cursor
        self.assertIsNone(keyset.plan(Partner, "parent_id", Partner._fields))  # many2one
        self.assertIsNone(keyset.plan(Partner, "barcode", Partner._fields))  # company-dependent
        self.assertIsNone(keyset.plan(Users, "name", Users._fields))  # _inherits res.partner
        self.assertIsNone(keyset.plan(self.env["res.device"], None, {"id"}))  # orders its own way
        boolean = keyset.plan(Partner, "is_company desc", Partner._fields).terms[0]
        self.assertFalse(boolean.nullable)

    def test_record_rules_hold_on_cursor_pages(self):
        other = self.env["res.company"].create({"name": "Cursor elsewhere"})
        hidden = self.env["res.partner"].create(
            [
                {"name": f"hidden {i}", "email": f"h{i}@cursor.test", "ref": "b", "company_id": other.id}
                for i in range(5)
            ]
        )
        pages = self.walk("next", self.search(key=self.limited_key, order="ref", fields="name", limit=4),
                          key=self.limited_key)  # fmt: skip
        visible = [found for found in self.expected("ref") if found not in hidden.ids]
        self.assertEqual(len(visible), 23)
        self.assertEqual(self.ids(pages), visible)  # the other company's records are not reached
