"""GET /api/<model>/aggregate (API.md section 10): groups by Odoo's read_group, as the caller."""

import json
from urllib.parse import parse_qs, urlsplit

from odoo.tests import new_test_user, tagged

from .common import RestApiCase, recorded_statements

SECRET = "s3cr3t-agg-value"
DOMAIN = '[["ref", "=", "AGG-T"]]'
GROUPING = 'GROUP BY "res_partner"."country_id"'
LETTERS = {"r": "perm_read", "c": "perm_create", "w": "perm_write", "d": "perm_delete", "x": "perm_execute"}


@tagged("post_install", "-at_install")
class TestAggregate(RestApiCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.be, cls.fr = cls.env.ref("base.be"), cls.env.ref("base.fr")
        cls.vip = cls.env["res.partner.category"].create({"name": "agg-vip"})
        values = [  # name, country, color, is_company, tags, latitude, created (UTC)
            ("A", cls.be, 1, True, cls.vip, 1.25, "2024-03-31 22:30:00"),
            ("B", cls.be, 2, False, None, 0.5, "2024-01-15 10:00:00"),
            ("C", cls.fr, 4, False, cls.vip, 0.0, "2023-12-31 23:30:00"),
            ("D", None, 8, False, None, 0.0, "2024-02-29 12:00:00"),
        ]
        cls.partners = cls.env["res.partner"].create(
            [
                {"name": f"AGG {name}", "ref": "AGG-T", "country_id": country and country.id, "color": color,
                 "is_company": company, "category_id": tags and [(6, 0, tags.ids)], "partner_latitude": lat}
                for name, country, color, company, tags, lat, _created in values
            ]
        )  # fmt: skip
        cls.env.flush_all()
        for partner, row in zip(cls.partners, values, strict=True):
            cls.env.cr.execute("UPDATE res_partner SET create_date = %s WHERE id = %s", (row[-1], partner.id))
        cls.env.invalidate_all()

    def aggregate(self, key=None, model="res.partner", **params):
        params = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
        return self.get(f"/api/{model}/aggregate", key=key, params={"domain": DOMAIN, **params})

    def groups(self, key=None, **params):
        response = self.aggregate(key, **params)
        self.assertEqual(response.status_code, 200, response.text[:300])
        return response.json()

    def by(self, rows, key, value="__count"):
        return {(tuple(row[key]) if isinstance(row[key], list) else row[key]): row[value] for row in rows}

    # ------------------------------------------------------------ values
    def test_groups_by_a_many2one_with_sums_and_counts(self):
        rows = self.groups(groupby="country_id", aggregates="color:sum,partner_latitude:sum,__count")
        be, fr = [self.be.id, self.be.display_name], [self.fr.id, self.fr.display_name]
        self.assertEqual(rows, [
            {"country_id": be, "color:sum": 3, "partner_latitude:sum": 1.75, "__count": 2},
            {"country_id": fr, "color:sum": 4, "partner_latitude:sum": 0.0, "__count": 1},
            {"country_id": False, "color:sum": 8, "partner_latitude:sum": 0.0, "__count": 1},
        ])  # fmt: skip

    def test_no_groupby_is_one_group_and_the_count_is_the_default(self):
        self.assertEqual(self.groups(), [{"__count": 4}])
        rows = self.groups(aggregates="color:max,color:avg,create_date:min")
        self.assertEqual(
            rows, [{"color:max": 8, "color:avg": 3.75, "create_date:min": "2023-12-31T23:30:00Z"}]
        )
        nothing = self.groups(domain='[["ref", "=", "AGG-NONE"]]', aggregates="color:sum,color:max,__count")
        self.assertEqual(nothing, [{"color:sum": 0, "color:max": False, "__count": 0}])

    def test_booleans_selections_and_many2many_groups(self):
        rows = self.groups(groupby="is_company,type,category_id", aggregates="__count")
        self.assertEqual(
            {(r["is_company"], r["type"], tuple(r["category_id"] or ())): r["__count"] for r in rows},
            {(True, "contact", (self.vip.id, "agg-vip")): 1, (False, "contact", (self.vip.id, "agg-vip")): 1,
             (False, "contact", ()): 2},
        )  # fmt: skip

    def test_datetimes_are_grouped_in_the_callers_time_zone(self):
        utc = self.groups(groupby="create_date:day", context={"tz": "UTC"})
        self.assertEqual(self.by(utc, "create_date:day")["2024-03-31"], 1)
        brussels = self.groups(groupby="create_date:year", context={"tz": "Europe/Brussels"})
        self.assertEqual(self.by(brussels, "create_date:year"), {"2024": 4})
        years = self.groups(groupby="create_date:year", context={"tz": "UTC"})
        self.assertEqual(self.by(years, "create_date:year"), {"2023": 1, "2024": 3})

    def test_periods_are_iso_text_and_parts_numbers(self):
        utc = {"tz": "UTC"}
        months = self.groups(groupby="create_date:month", context=utc)
        self.assertEqual(
            [r["create_date:month"] for r in months], ["2023-12", "2024-01", "2024-02", "2024-03"]
        )
        quarters = self.groups(groupby="create_date:quarter", context=utc)
        self.assertEqual(self.by(quarters, "create_date:quarter"), {"2023-Q4": 1, "2024-Q1": 3})
        hours = self.groups(groupby="create_date:hour", context=utc, order="create_date:hour desc", limit=1)
        self.assertEqual(hours, [{"create_date:hour": "2024-03-31T22:00", "__count": 1}])
        numbers = self.groups(groupby="create_date:month_number", context=utc)
        self.assertEqual(self.by(numbers, "create_date:month_number"), {1: 1, 2: 1, 3: 1, 12: 1})

    def test_a_week_is_the_day_it_starts_on_as_the_language_says(self):
        lang = self.env["res.lang"]._lang_get(self.env.user.lang or "en_US")
        for week_start, first_day in (("1", "2024-03-25"), ("7", "2024-03-31")):  # A: Sunday 2024-03-31
            lang.week_start = week_start
            rows = self.groups(
                groupby="create_date:week", context={"tz": "UTC"}, domain='[["name", "=", "AGG A"]]'
            )
            self.assertEqual(rows, [{"create_date:week": first_day, "__count": 1}])

    def test_a_date_field(self):
        usd = self.env.ref("base.USD")
        self.env["res.currency.rate"].create(
            [{"currency_id": usd.id, "name": day, "rate": rate}
             for day, rate in (("2024-01-05", 1.0), ("2024-02-10", 2.0), ("2024-02-20", 4.0))]
        )  # fmt: skip
        rows = self.groups(model="res.currency.rate", groupby="name:month", aggregates="rate:avg,name:max",
                           domain=f'[["currency_id", "=", {usd.id}], ["name", ">=", "2024-01-01"]]')  # fmt: skip
        self.assertEqual(rows, [{"name:month": "2024-01", "rate:avg": 1.0, "name:max": "2024-01-05"},
                                {"name:month": "2024-02", "rate:avg": 3.0, "name:max": "2024-02-20"}])  # fmt: skip

    # ------------------------------------------------------------ order and pages
    def test_order_limit_offset_and_the_number_of_groups(self):
        params = {"groupby": "country_id", "aggregates": "color:sum", "order": "color:sum desc", "limit": "2"}
        response = self.aggregate(**params)
        self.assertEqual([r["color:sum"] for r in response.json()], [8, 4])
        self.assertEqual(response.headers["X-Total-Count"], "3")
        link = response.headers["Link"].split(">")[0].lstrip("<")
        self.assertEqual(parse_qs(urlsplit(link).query)["offset"], ["2"])
        self.assertEqual([r["color:sum"] for r in self.groups(**params, offset="2")], [3])
        # ties keep one order across pages: the groupby items follow (a many2one by its id,
        # without reading its model)
        with recorded_statements() as seen:
            rows = self.groups(groupby="country_id", order="__count desc")
        self.assertEqual(
            [r["country_id"] and r["country_id"][0] for r in rows], [self.be.id, self.fr.id, False]
        )
        grouping = next(statement for statement in seen if GROUPING in statement)
        self.assertIn('ORDER BY COUNT(*) DESC , MAX("res_partner"."country_id") ASC', grouping)
        self.assertNotIn("res_country", grouping)

    def test_a_short_page_is_counted_by_itself(self):
        with recorded_statements() as seen:
            response = self.aggregate(groupby="country_id")
        self.assertEqual(response.headers["X-Total-Count"], "3")
        self.assertEqual(sum(GROUPING in statement for statement in seen), 1, seen)
        with recorded_statements() as seen:
            response = self.aggregate(groupby="country_id", limit="1")
        self.assertEqual(response.headers["X-Total-Count"], "3")
        self.assertEqual(sum(GROUPING in statement for statement in seen), 2, seen)

    def test_a_model_that_changes_how_it_groups_is_counted_its_way(self):
        Partner = type(self.env["res.partner"])
        grouped = Partner._read_group

        def without_france(self, domain, *args, **kwargs):
            return grouped(self, [*domain, ("country_id", "!=", self.env.ref("base.fr").id)], *args, **kwargs)

        self.patch(Partner, "_read_group", without_france)
        response = self.aggregate(groupby="country_id", limit="1")
        self.assertEqual(response.headers["X-Total-Count"], "2")

    # ------------------------------------------------------------ refusals
    def test_bad_parameters_are_400_without_echo(self):
        self.env["ir.config_parameter"].set_param("rest_api.max_page_size", "50")
        for params in (
            {"groupby": f"name,{SECRET}"},
            {"groupby": "no_such_field"},
            {"groupby": "child_ids"},
            {"groupby": "create_date"},
            {"groupby": "create_date:fortnight"},
            {"groupby": "color:month"},
            {"aggregates": "name:sum"},
            {"aggregates": f"color:{SECRET}"},
            {"aggregates": "color"},
            {"order": "name"},
            {"groupby": "country_id", "order": f"country_id {SECRET}"},
            {"domain": f'[["name", "=", "{SECRET}"], ["color", "~", 1]]'},
            {"limit": "51"},
            {"offset": "-1"},
        ):
            with self.subTest(params=params):
                body = self.assertProblem(self.aggregate(**params), 400)
                self.assertNotIn(SECRET, json.dumps(body))

    def test_fields_odoo_cannot_group_or_aggregate_say_so(self):
        # display_name is computed, not stored: Odoo has no SQL for it
        detail = self.assertProblem(self.aggregate(groupby="display_name"), 400)["detail"]
        self.assertIn("'display_name' (char) cannot be grouped by", detail)
        detail = self.assertProblem(self.aggregate(aggregates="display_name:count"), 400)["detail"]
        self.assertIn("'display_name' (char) cannot be aggregated with count", detail)
        self.assertEqual(len(self.groups(groupby="country_code", aggregates="country_id:count_distinct")), 3)

    def test_fields_the_caller_cannot_read_are_unknown(self):
        self.patch(self.env["res.partner"]._fields["color"], "groups", "base.group_system")
        self.env.registry.clear_cache()
        for params in ({"groupby": "color"}, {"aggregates": "color:sum"}, {"order": "color:max"}):
            with self.subTest(params=params):
                detail = self.assertProblem(self.aggregate(self.limited_key, **params), 400)["detail"]
                self.assertIn("Unknown field 'color'", detail)
        self.assertEqual(self.groups(aggregates="color:sum"), [{"color:sum": 15}])

    def test_access_rights_and_record_rules_apply_to_groups(self):
        hidden = self.env["res.groups"].create({"name": "agg: hides D"})
        user = new_test_user(self.env, login="agg_user", groups="base.group_user,base.group_partner_manager")
        user.groups_id = [(4, hidden.id)]
        self.env["ir.rule"].create({"name": "agg: no D", "model_id": self.env.ref("base.model_res_partner").id,
                                    "groups": [(4, hidden.id)], "domain_force": "[('name', '!=', 'AGG D')]"})  # fmt: skip
        key = self.make_key(user)
        rows = self.groups(key, groupby="country_id", aggregates="color:sum")
        self.assertEqual([r["color:sum"] for r in rows], [3, 4])  # no group for D's empty country
        self.assertEqual(len(self.groups(groupby="country_id")), 3)  # the admin is not in that group
        # a model the user may not read: 403, before any of its fields is named
        self.assertProblem(self.aggregate(key, model="ir.cron", groupby="no_such_field"), 403)

    # ------------------------------------------------------------ walls (API.md section 8)
    def scoped_key(self, **scopes):
        lines = [
            (0, 0, {"model_id": self.env["ir.model"]._get_id(model.replace("__", ".")),
                    **{LETTERS[c]: c in letters for c in LETTERS}})
            for model, letters in scopes.items()
        ]  # fmt: skip
        return self.make_key(self.admin, all_models=False, scope_ids=lines)

    def test_a_group_through_a_related_path_needs_read_on_its_models(self):
        partners_only = self.scoped_key(res__partner="r")
        with_countries = self.scoped_key(res__partner="r", res__country="r")
        for params in (
            {"groupby": "country_code"},  # related: country_id.code
            {"aggregates": "country_code:count_distinct"},
            {"groupby": "country_id", "order": "country_id desc"},  # by the countries' own order
            {"domain": '[["country_id.code", "=", "BE"]]'},
        ):
            with self.subTest(params=params):
                detail = self.assertProblem(self.aggregate(partners_only, **params), 403)["detail"]
                self.assertIn("res.country", detail)
                self.assertEqual(self.aggregate(with_countries, **params).status_code, 200)
        # a many2one's [id, name], as reading the field gives it, reads no more
        rows = self.groups(partners_only, groupby="country_id", order="__count desc")
        self.assertEqual(rows[0]["country_id"], [self.be.id, self.be.display_name])

    def test_needs_the_read_scope(self):
        self.assertProblem(self.aggregate(self.scoped_key(res__partner="cwdx")), 403)
        self.assertEqual(self.groups(self.scoped_key(res__partner="r")), [{"__count": 4}])
