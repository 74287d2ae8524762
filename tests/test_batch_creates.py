"""API.md section 9, ``POST /api/batch``: consecutive creates of one model run as one ORM create.

Every test runs its operations twice: as the batch runs them, and with
grouping off (each operation alone through the stages, as before grouping
existed). The answers must be the same, ids aside; what differs is how many
ORM creates ran (``creates_of``).
"""

import contextlib
import json
import re
from unittest.mock import patch
from urllib.parse import unquote_plus

from odoo import api
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from ..controllers import batch as batch_module
from ..infra import throttle
from ..lib import values
from .common import RestApiCase

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

    def both(self, operations, key=None):
        """(grouped answer, ungrouped answer, ORM create sizes of each) of ``operations``,
        made with names of their own for each run ("{run}" in a name: "G-" or "A-")."""
        answers, sizes = [], []
        for run, grouping in (("G-", True), ("A-", False)):
            text = json.dumps(operations).replace("{run}", run)
            with creates_of(self.env, "res.partner") as found:
                answers.append(self.batch(json.loads(text), key=key, grouping=grouping))
            sizes.append(found)
        return answers[0], answers[1], sizes[0], sizes[1]

    def normalised(self, response):
        """(status, body): the runs' names made alike, each record id replaced by the
        order in which it first appears, the request id and versions left out."""
        body = json.loads(re.sub(r"\b[GA]-", "RUN-", response.text))
        if response.headers["Content-Type"].startswith("application/problem+json"):
            body.pop("request_id")
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
