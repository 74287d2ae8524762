"""API.md section 9, ``POST /api/batch``: consecutive creates of one model run as one ORM create.

Every test runs its operations twice: as the batch runs them, and with
grouping off (each operation alone through the stages, as before grouping
existed). The answers must be the same, ids aside; what differs is how many
ORM creates ran (``creates_of``).
"""

import base64
import contextlib
import json
import re
from unittest.mock import patch
from urllib.parse import unquote_plus

from odoo import api
from odoo.tests import new_test_user, tagged
from odoo.tools import SQL, mute_logger

from ..controllers import batch as batch_module
from ..controllers import handlers
from ..infra import throttle
from ..lib import values
from .common import RestApiCase
from .test_files import PNG

CREATE = "/api/res.partner/create"


def create(body, **extra):
    return dict({"method": "POST", "path": CREATE, "body": body}, **extra)


@contextlib.contextmanager
def creates_of(env, model, refuse_lists=False):
    """The sizes of the lists given to ``model``'s ORM create while the block runs;
    ``refuse_lists``: a create of more than one record fails (as a constraint on
    the whole list may)."""
    sizes, Model = [], type(env[model])
    original = Model.create

    @api.model_create_multi
    def spy(self, vals_list):
        sizes.append(len(vals_list))
        if refuse_lists and len(vals_list) > 1:
            raise ValueError("not as a list")
        return original(self, vals_list)

    with patch.object(Model, "create", spy):
        yield sizes


@contextlib.contextmanager
def counted(env):
    """The names in the bodies of the operations counted against the key's rate limit."""
    names, Pipeline = [], type(env["rest.api.pipeline"])
    original = Pipeline._throttle_operation

    def spy(self, call):
        body = json.loads(call.body) if call.body else {}
        names.append(body.get("name", call.httprequest.path) if isinstance(body, dict) else "list")
        return original(self, call)

    with patch.object(Pipeline, "_throttle_operation", spy):
        yield names


@tagged("post_install", "-at_install")
class TestBatchCreates(RestApiCase):
    maxDiff = None

    def batch(self, operations, key=None, grouping=True):
        if grouping:
            return self.call("POST", "/api/batch", key=key, body={"operations": operations})
        with patch.object(batch_module, "_may_group", lambda pipeline, call: False):
            return self.call("POST", "/api/batch", key=key, body={"operations": operations})

    def both(self, operations, key=None, model="res.partner", fixtures=None):
        """(grouped answer, ungrouped answer, ORM create sizes of each) of ``operations``,
        made with names of their own for each run ("{run}" in a name: "G-" or "A-");
        ``fixtures(run)``: {label: id} of records made for that run, just before it, each
        written "<label>" in ``operations`` (a JSON string there, the id in the batch) and
        told by its label in the run's answer (``normalised``)."""
        answers, sizes = [], []
        for run, grouping in (("G-", True), ("A-", False)):
            text = json.dumps(operations).replace("{run}", run)
            made = fixtures(run) if fixtures else {}
            for label, record_id in made.items():
                text = text.replace(f'"<{label}>"', str(record_id))
            with creates_of(self.env, model) as found:
                answer = self.batch(json.loads(text), key=key, grouping=grouping)
            answer.fixtures = {record_id: f"<{label}>" for label, record_id in made.items()}
            answers.append(answer)
            sizes.append(found)
        return answers[0], answers[1], sizes[0], sizes[1]

    def normalised(self, response):
        """(status, body): the runs' names made alike, each record id replaced by the
        order in which it first appears (in a problem's detail, a fixture's by its
        label), the request id and versions left out."""
        fixtures = getattr(response, "fixtures", {})

        def labelled(match):
            return fixtures.get(int(match.group(0)), match.group(0))

        body = json.loads(re.sub(r"\b[GA]-", "RUN-", response.text))
        if response.headers["Content-Type"].startswith("application/problem+json"):
            body.pop("request_id")
            body["detail"] = re.sub(r"(?<!\d)\d+(?!\d)", labelled, body["detail"])
            return response.status_code, body
        ids = {}
        for result in body["results"]:
            found = result["body"]
            for record_id in (found.get("ids") or [found.get("id")]) if isinstance(found, dict) else []:
                if isinstance(record_id, int):
                    ids.setdefault(record_id, f"<id {len(ids)}>")

        def number(match):
            return ids.get(int(match.group(0)), match.group(0))

        def walk(value, key=None):
            if key == "ETag":  # a version: the record's id and write date, the run's own
                return "<etag>"
            if key == "Location":  # its query string decoded first
                return re.sub(r"(?<!\d)\d+(?!\d)", number, unquote_plus(value))
            if isinstance(value, int) and not isinstance(value, bool):
                return ids.get(value, value)
            if isinstance(value, dict):
                return {name: walk(each, name) for name, each in value.items()}
            if isinstance(value, list):
                return [walk(each) for each in value]
            return value

        return response.status_code, walk(body)

    def assertSameAnswers(self, grouped, alone):
        self.assertEqual(self.normalised(grouped), self.normalised(alone))

    def names(self, prefix):
        return (
            self.env["res.partner"]
            .with_context(active_test=False)
            .search([("name", "=like", prefix + "%")], order="id")
            .mapped("name")
        )

    # ------------------------------------------------------------ success
    def test_consecutive_creates_are_one_orm_create_answered_as_if_alone(self):
        operations = [
            create({"name": "{run}grp 0", "email": "zero@example.com", "is_company": True}),
            create({"name": "{run}grp 1", "comment": "<p>one</p>", "category_id": []}),
            create([{"name": "{run}grp 2"}, {"name": "{run}grp 3"}]),
            create({"name": "{run}grp 4"}, path=CREATE + "?fields=name"),
        ]
        grouped, alone, grouped_sizes, alone_sizes = self.both(operations)
        self.assertEqual(grouped.status_code, 200, grouped.text)
        self.assertEqual(grouped_sizes, [5])
        self.assertEqual(alone_sizes, [1, 1, 2, 1])
        self.assertSameAnswers(grouped, alone)
        results = grouped.json()["results"]
        self.assertEqual([r["status"] for r in results], [201] * 4)
        first = results[0]["body"]["id"]
        self.assertEqual(results[0]["headers"], {"Location": f"/api/res.partner/{first}"})
        self.assertEqual(results[0]["body"], {"id": first, "message": "Record created successfully."})
        self.assertEqual(len(results[2]["body"]["ids"]), 2)
        self.assertIn("/api/res.partner/search?domain=", results[2]["headers"]["Location"])
        self.assertEqual(self.names("G-grp"), [f"G-grp {i}" for i in range(5)])
        partner = self.env["res.partner"].browse(first)
        self.assertEqual((partner.email, partner.is_company), ("zero@example.com", True))

    def test_other_models_operations_and_references_break_groups(self):
        operations = [
            create({"name": "{run}mix 0"}),
            create({"name": "{run}mix 1"}),
            {"method": "POST", "path": "/api/res.partner.category/create", "body": {"name": "{run}mix tag"}},
            create({"name": "{run}mix 3", "color": "${0.id}", "category_id": ["${2.id}"]}),
            create({"name": "{run}mix 4", "color": "${1.id}"}),
            {"method": "PATCH", "path": "/api/res.partner/${4.id}", "body": {"ref": "patched"}},
            create({"name": "{run}mix 6"}),
            create({"name": "{run}mix 7"}, headers={"Prefer": "return=representation"},
                   path=CREATE + "?fields=name,color"),
            create({"name": "{run}mix 8"}),
            create({"name": "{run}mix 9", "color": "${8.id}"}),
            create({"name": "{run}mix 10"}),
            {"method": "GET", "path": "/api/res.partner/search?domain=[[\"name\",\"=like\",\"{run}mix %\"]]"
                                      "&fields=name,color&order=id"},
        ]  # fmt: skip
        grouped, alone, grouped_sizes, alone_sizes = self.both(operations)
        self.assertEqual(grouped.status_code, 200, grouped.text)
        # 0-1 | tag | 3-4 | PATCH | 6 | 7 (representation) | 8 | 9-10 (9 needs 8's answer)
        self.assertEqual(grouped_sizes, [2, 2, 1, 1, 1, 2])
        self.assertEqual(alone_sizes, [1] * 9)
        self.assertSameAnswers(grouped, alone)
        results = grouped.json()["results"]
        ids = [r["body"].get("id") for r in results[:11]]
        self.assertEqual(results[7]["body"], {"id": ids[7], "name": "G-mix 7", "color": 0})
        self.assertEqual(results[7]["headers"]["Preference-Applied"], "return=representation")
        found = {row["name"]: row["color"] for row in results[11]["body"]}
        self.assertEqual((found["G-mix 3"], found["G-mix 4"], found["G-mix 9"]), (ids[0], ids[1], ids[8]))
        self.assertEqual(len(found), 9)
        self.assertEqual(self.env["res.partner"].browse(ids[4]).ref, "patched")
        self.assertEqual(self.env["res.partner"].browse(ids[3]).category_id.name, "G-mix tag")

    def test_creates_that_name_records_of_their_model_run_alone(self):
        # res.partner: the first contact of a company without an address gives it its address
        # (two contacts made by one create: the company has two, and keeps no address)
        outcomes = []
        for grouping in (True, False):
            company = self.env["res.partner"].create({"name": f"firm {grouping}", "is_company": True})
            operations = [
                create({"name": "first", "parent_id": company.id, "street": "1 First St"}),
                create({"name": "second", "parent_id": company.id, "street": "2 Second St"}),
                create({"name": "parent", "child_ids": [{"name": "child"}]}),
                create({"name": "plain"}),
            ]
            with creates_of(self.env, "res.partner") as sizes:
                response = self.batch(operations, grouping=grouping)
            self.assertEqual(response.status_code, 200, response.text)
            partners = self.env["res.partner"].browse(
                [result["body"]["id"] for result in response.json()["results"]]
            )
            self.env.invalidate_all()
            outcomes.append(
                (sizes, company.street, partners.mapped("street"), partners[2].child_ids.mapped("name"))
            )
        self.assertEqual(outcomes[0], outcomes[1])
        self.assertEqual(
            outcomes[0][1:], ("1 First St", ["1 First St", "1 First St", False, False], ["child"])
        )

    # ------------------------------------------------------------ failures
    @mute_logger("odoo.sql_db", "odoo.http")
    def test_a_failure_in_a_group_names_its_operation_and_writes_nothing(self):
        cases = {
            # the model's constraint sees both records of the list at once: the list fails as a
            # whole, and one by one the second barcode is the one refused
            "constraint": (3, [create({"name": "{run}bad 0", "barcode": "{run}-bc"}),
                               create({"name": "{run}bad 1"}),
                               create({"name": "{run}bad 2"}),
                               create({"name": "{run}bad 3", "barcode": "{run}-bc"}),
                               create({"name": "{run}bad 4"})]),
            # a database constraint (a contact needs a name)
            "database": (1, [create({"name": "{run}bad 0"}), create({"name": False}),
                             create({"name": "{run}bad 2"})]),
            # a check before the create (an unknown field), after a create that fails in the ORM
            "ORM before check": (1, [create({"name": "{run}bad 0"}), create({"name": False}),
                                     create({"name": "{run}bad 2", "no_such_field": 1})]),
            # a check before the create: those before it run first, and pass
            "check": (2, [create({"name": "{run}bad 0"}), create({"name": "{run}bad 1"}),
                          create({"name": "{run}bad 2", "no_such_field": 1}), create({"name": "{run}bad 3"})]),
            # a reference to a member the answer does not have
            "reference": (2, [create({"name": "{run}bad 0"}), create({"name": "{run}bad 1"}),
                              create({"name": "{run}bad 2", "parent_id": "${1.ids.0}"})]),
        }  # fmt: skip
        for name, (failing, operations) in cases.items():
            with self.subTest(name):
                grouped, alone, _sizes, _alone_sizes = self.both(operations)
                problem = self.assertProblem(grouped, alone.status_code)
                self.assertEqual(problem["operation"], failing, problem)
                self.assertSameAnswers(grouped, alone)
                self.assertEqual(self.names("G-bad") + self.names("A-bad"), [])

    def test_a_grouped_attachment_of_an_image_field_holds_an_image(self):
        """An attachment that keeps an image field's value is checked in a group as alone."""
        png = base64.b64encode(PNG).decode()
        text = base64.b64encode(b"not an image at all").decode()

        def attachment(name, datas):
            return create({"name": "{run}" + name, "res_model": "res.partner", "res_field": "image_1920",
                           "datas": datas, "mimetype": "image/png"},
                          path="/api/ir.attachment/create")  # fmt: skip

        operations = [attachment("img 0", png), attachment("img 1", text), attachment("img 2", png)]
        grouped, alone, _sizes, _alone_sizes = self.both(operations, model="ir.attachment")
        problem = self.assertProblem(grouped, 400)
        self.assertEqual(problem["operation"], 1, problem)
        self.assertSameAnswers(grouped, alone)

    @mute_logger("odoo.http")
    def test_scopes_access_and_the_rate_limit_hold_per_operation_in_a_group(self):
        scoped = self.make_key(self.admin, all_models=False, scope_ids=[self.scope("res.partner", "rc")])
        tag = self.env["res.partner.category"].create({"name": "outside the scopes"})
        operations = [create({"name": "{run}sc 0"}), create({"name": "{run}sc 1"}),
                      create({"name": "{run}sc 2", "category_id": [tag.id]}), create({"name": "{run}sc 3"})]  # fmt: skip
        with counted(self.env) as names:
            grouped, alone, grouped_sizes, _alone_sizes = self.both(operations, key=scoped)
        self.assertEqual(self.assertProblem(grouped, 403)["operation"], 2)
        self.assertSameAnswers(grouped, alone)
        self.assertEqual(grouped_sizes, [2])  # 0-1 ran, as one create, before 2 was refused
        self.assertEqual(
            names, ["G-sc 0", "G-sc 1", "G-sc 2", "A-sc 0", "A-sc 1", "A-sc 2"]
        )  # 3: never counted
        self.assertEqual(self.names("G-sc") + self.names("A-sc"), [])

        # a user who may not create partners: the ORM's access check refuses the first
        plain = self.make_key(new_test_user(self.env, login="rest_plain_batch", groups="base.group_user"))
        operations = [create({"name": "{run}acl 0"}), create({"name": "{run}acl 1"})]
        grouped, alone, grouped_sizes, _alone_sizes = self.both(operations, key=plain)
        self.assertEqual(self.assertProblem(grouped, 403)["operation"], 0)
        self.assertEqual(grouped_sizes, [2, 1])  # the list, then the first one alone
        self.assertSameAnswers(grouped, alone)

        for grouping in (True, False):
            # the batch and three operations use up 4: the fourth operation is refused
            key = self.make_key(self.admin, rate_limit=4, rate_limit_period=3600)
            operations = [create({"name": f"rl{grouping} {number}"}) for number in range(6)]
            with counted(self.env) as names:
                over = self.batch(operations, key=key, grouping=grouping)
            self.assertEqual(self.assertProblem(over, 429)["operation"], 3)
            self.assertEqual(names, [f"rl{grouping} {number}" for number in range(4)])
            self.assertEqual(self.names(f"rl{grouping}"), [])

    def test_a_list_the_orm_refuses_runs_again_one_by_one(self):
        partner = self.env["res.partner"].create({"name": "once", "ref": "0"})
        operations = [
            {"method": "PATCH", "path": f"/api/res.partner/{partner.id}", "body": {"ref": "1"}},
            create({"name": "once 1"}),
            create({"name": "once 2", "color": 7}),
            create({"name": "once 3"}),
            {"method": "GET", "path": f"/api/res.partner/{partner.id}?fields=ref"},
        ]
        with counted(self.env) as names, creates_of(self.env, "res.partner", refuse_lists=True) as sizes:
            response = self.batch(operations)
        self.assertEqual(response.status_code, 200, response.text)
        results = response.json()["results"]
        self.assertEqual([r["status"] for r in results], [200, 201, 201, 201, 200])
        self.assertEqual(sizes, [3, 1, 1, 1])  # the list, undone; then one by one
        # the batch ran again from its start: each operation was counted once all the same
        self.assertEqual(names, [f"/api/res.partner/{partner.id}", "once 1", "once 2", "once 3",
                                 f"/api/res.partner/{partner.id}"])  # fmt: skip
        self.assertEqual(self.names("once "), ["once 1", "once 2", "once 3"])
        self.assertEqual(results[4]["body"], {"id": partner.id, "ref": "1"})
        self.assertEqual(self.env["res.partner"].browse(results[2]["body"]["id"]).color, 7)
        self.assertEqual(partner.ref, "1")

    def test_groups_are_bounded(self):
        operations = [create({"name": f"bound {number}"}) for number in range(5)]
        # at most as many records as one create call makes
        with patch.object(values, "MAX_RECORDS", 3), creates_of(self.env, "res.partner") as sizes:
            self.assertEqual(self.batch(operations).status_code, 200)
        self.assertEqual(sizes, [3, 2])
        # a key this worker saw use up its window: each operation counted before its work
        with (
            patch.object(throttle, "exhausted", lambda env, key: True),
            creates_of(self.env, "res.partner") as sizes,
        ):
            self.assertEqual(self.batch(operations).status_code, 200)
        self.assertEqual(sizes, [1] * 5)

    # ------------------------------------------------------------ what a create reads and names
    def bank_fixtures(self, run):
        """Partners P and Q, and B, a bank account of P (made again for each run)."""
        partners = self.env["res.partner"].create([{"name": f"{run}P"}, {"name": f"{run}Q"}])
        bank = self.env["res.partner.bank"].create(
            {"acc_number": f"{run}B-acc", "partner_id": partners[0].id}
        )
        return {"P": partners[0].id, "Q": partners[1].id, "B": bank.id}

    def next_id(self, model, after=0):
        """The id the next record of ``model`` gets (``after``: that many records later)."""
        sequence = SQL.identifier(f"{self.env[model]._table}_id_seq")
        self.env.cr.execute(SQL("SELECT last_value + is_called::int FROM %s", sequence))
        return self.env.cr.fetchone()[0] + after

    @mute_logger("odoo.http", "odoo.sql_db")
    def test_a_create_checks_the_lines_it_names_after_the_creates_before_it(self):
        tag = "/api/res.partner.category/create"
        hijack = {"method": "POST", "path": tag, "body": {"name": "{run}t14b", "partner_ids": [
            [1, "<P>", {"bank_ids": [{"id": "<B>", "acc_number": "{run}HIJACK"}]}]]}}  # fmt: skip
        cases = {
            # the first create of the group moves B to Q: B is no longer a line of P
            "in its group": [
                {"method": "POST", "path": tag, "body": {"name": "{run}t14a", "partner_ids": [
                    [1, "<Q>", {"bank_ids": [{"acc_number": "{run}filler"}, "<B>"]}]]}},
                hijack,
            ],
            # a create of another model before it moves B
            "after another group": [
                create({"name": "{run}mover", "bank_ids": ["<B>"]}),
                hijack,
                {"method": "POST", "path": tag, "body": {"name": "{run}t14c"}},
            ],
        }  # fmt: skip
        for name, operations in cases.items():
            with self.subTest(name):
                grouped, alone, _sizes, _alone_sizes = self.both(operations, fixtures=self.bank_fixtures)
                problem = self.assertProblem(grouped, 400)
                self.assertEqual(problem["operation"], 1, problem)
                self.assertIn("is not a line of res.partner record", problem["detail"])
                self.assertSameAnswers(grouped, alone)
                banks = self.env["res.partner.bank"].search([("acc_number", "=like", "_-B-acc")])
                self.assertEqual(len(banks), 4 if name == "after another group" else 2)
                self.assertEqual(set(banks.mapped("partner_id.name")), {"G-P", "A-P"})

    def test_an_operation_that_cannot_join_the_group_is_checked_once_the_group_is_made(self):
        seen, original = [], handlers.walled_values

        def spy(call, body, operation, lines):
            seen.append((call.model._name, self.names("chk ")))
            return original(call, body, operation, lines)

        operations = [
            create({"name": "chk 0"}),
            create({"name": "chk 1"}),
            {"method": "POST", "path": "/api/res.partner.category/create", "body": {"name": "chk tag"}},
        ]
        with patch.object(handlers, "walled_values", spy):
            self.assertEqual(self.batch(operations).status_code, 200)
        made = ["chk 0", "chk 1"]
        # the tag: checked before it could join a group, then as it runs (a group of one: alone)
        self.assertEqual(
            seen,
            [("res.partner", []), ("res.partner", []), ("res.partner.category", made),
             ("res.partner.category", made)],
        )  # fmt: skip

    @mute_logger("odoo.http", "odoo.sql_db")
    def test_creates_naming_records_the_group_makes_are_not_grouped(self):
        tag = "/api/res.partner.category/create"
        cases = {
            # a nested create names the id the second tag gets: alone, it does not exist yet
            "its own model, nested": (404, 0, "res.partner.category", [1], [
                {"method": "POST", "path": tag, "body": {"name": "{run}FT0", "partner_ids": [
                    [0, 0, {"name": "{run}fwdp", "category_id": ["<next tag + 1>"]}]]}},
                {"method": "POST", "path": tag, "body": {"name": "{run}FT1"}},
            ]),
            # the first names the tag the second makes in its lines (Odoo's create of both
            # fails, as the list would be made again one by one: they are not grouped at all)
            "a model a later create makes": (404, 0, "res.partner", [1], [
                create({"name": "{run}fw0", "category_id": ["<next tag>"]}),
                create({"name": "{run}fw1", "category_id": [{"name": "{run}fwtag"}]}),
            ]),
            # the second names the tag the first makes in its lines: both pass, alone or not
            "a model an earlier create makes": (200, None, "res.partner", [1, 2], [
                create({"name": "{run}bw0", "category_id": [{"name": "{run}bwtag"}]}),
                create({"name": "{run}bw1", "category_id": ["<next tag>"]}),
                create({"name": "{run}bw2"}),
            ]),
        }  # fmt: skip

        def fixtures(run):
            return {
                "next tag": self.next_id("res.partner.category"),
                "next tag + 1": self.next_id("res.partner.category", 1),
            }

        for name, (status, failing, model, sizes, operations) in cases.items():
            with self.subTest(name):
                grouped, alone, grouped_sizes, alone_sizes = self.both(
                    operations, model=model, fixtures=fixtures
                )
                self.assertEqual(grouped.status_code, status, grouped.text)
                self.assertSameAnswers(grouped, alone)
                self.assertEqual(grouped_sizes, sizes)  # only creates that make no tag together
                if failing is not None:
                    self.assertEqual(grouped.json()["operation"], failing)
                else:
                    self.assertEqual(alone_sizes, [1, 1, 1])
                    results = grouped.json()["results"]
                    partner = self.env["res.partner"].browse(results[1]["body"]["id"])
                    self.assertEqual(partner.category_id.name, "G-bwtag")

    def test_creates_that_change_existing_records_run_alone(self):
        tag = "/api/res.partner.category/create"
        operations = [
            {"method": "POST", "path": tag, "body": {"name": "{run}w0", "partner_ids": [[1, "<Q>", {"ref": "{run}one"}]]}},
            {"method": "POST", "path": tag, "body": {"name": "{run}w1", "partner_ids": [[1, "<Q>", {"ref": "{run}two"}]]}},
            {"method": "POST", "path": tag, "body": {"name": "{run}w2", "partner_ids": ["<P>"]}},
            {"method": "POST", "path": tag, "body": {"name": "{run}w3"}},
        ]  # fmt: skip
        grouped, alone, grouped_sizes, alone_sizes = self.both(
            operations, model="res.partner.category", fixtures=self.bank_fixtures
        )
        self.assertEqual(grouped.status_code, 200, grouped.text)
        self.assertSameAnswers(grouped, alone)
        self.assertEqual(grouped_sizes, [1, 1, 2])  # a link to P (a many2many) changes no record
        self.assertEqual(alone_sizes, [1, 1, 1, 1])
        partners = self.env["res.partner"].search([("name", "in", ["G-Q", "A-Q"])], order="name")
        self.assertEqual(partners.mapped("ref"), ["A-two", "G-two"])

    # ------------------------------------------------------------ the rate limit before the work
    @mute_logger("odoo.http")
    def test_the_rate_limit_stops_a_group_before_the_work_of_the_refused_operation(self):
        # the batch and three operations use up 4: the fourth operation is refused, and the
        # records of those after it are never made (10 a create)
        operations = [create([{"name": f"rlw {number}-{i}"} for i in range(10)]) for number in range(6)]
        real = throttle.remaining
        cases = {
            "as counted": (real, [30]),
            # the count said none left, but the window opened since: each counted first, then made
            "none left": (lambda env, key: 0, [10, 10, 10]),
            # other calls counted meanwhile: the group's work is done, its members still refused
            "more left": (lambda env, key: 100, [60]),
        }
        for name, (remaining, expected) in cases.items():
            with self.subTest(name):
                key = self.make_key(self.admin, rate_limit=4, rate_limit_period=3600)
                with (
                    patch.object(throttle, "remaining", remaining),
                    counted(self.env) as names,
                    creates_of(self.env, "res.partner") as sizes,
                ):
                    over = self.batch(operations, key=key)
                self.assertEqual(self.assertProblem(over, 429)["operation"], 3)
                self.assertEqual(names, ["list"] * 4)
                self.assertEqual(sizes, expected)
                self.assertEqual(self.names("rlw "), [])
        key = self.make_key(self.admin, rate_limit=4, rate_limit_period=3600)
        with counted(self.env) as names, creates_of(self.env, "res.partner") as sizes:
            over = self.batch(operations, key=key, grouping=False)
        self.assertEqual(self.assertProblem(over, 429)["operation"], 3)
        self.assertEqual((names, sizes), (["list"] * 4, [10, 10, 10]))
