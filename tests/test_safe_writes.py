"""API.md section 9: versions (ETag, If-None-Match, If-Match) and Prefer: return=representation.

Every call of a test shares its transaction, whose clock does not move: a
write keeps ``write_date``, so "another client wrote since" is made by moving
``write_date`` by hand (the e2e tests write for real, over two workers).
"""

import time

from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import HeldInTransaction, RestApiCase, SameTransaction, recorded_statements, with_handlers


@tagged("post_install", "-at_install")
class TestVersions(RestApiCase):
    def setUp(self):
        super().setUp()
        self.partner = self.env["res.partner"].create({"name": "versioned", "email": "v@example.com"})
        self.path = f"/api/res.partner/{self.partner.id}"

    def written_elsewhere(self):
        self.env.cr.execute(
            "UPDATE res_partner SET write_date = write_date - interval '1 second' WHERE id = %s",
            [self.partner.id],
        )
        self.env.invalidate_all()

    def test_a_read_has_a_strong_etag_and_if_none_match_gives_304(self):
        response = self.get(self.path, params={"fields": "name"})
        self.assertEqual(response.status_code, 200)
        tag = response.headers["ETag"]
        self.assertTrue(tag.startswith('"'), tag)
        self.assertEqual(
            response.json(), {"id": self.partner.id, "name": "versioned"}
        )  # write_date not added
        self.assertEqual(self.get(self.path, params={"fields": "email"}).headers["ETag"], tag)
        cached = self.get(self.path, headers={"If-None-Match": f'"other", W/{tag}'})
        self.assertEqual((cached.status_code, cached.content, cached.headers["ETag"]), (304, b"", tag))
        self.written_elsewhere()
        fresh = self.get(self.path, headers={"If-None-Match": tag})
        self.assertEqual(fresh.status_code, 200)
        self.assertNotEqual(fresh.headers["ETag"], tag)
        self.assertProblem(self.get(self.path, headers={"If-None-Match": "not a tag"}), 400)

    def test_if_match_writes_only_the_version_it_names(self):
        tag = self.get(self.path).headers["ETag"]
        self.written_elsewhere()
        stale = self.call("PATCH", self.path, body={"name": "stale"}, headers={"If-Match": tag})
        self.assertProblem(stale, 412)
        self.partner.invalidate_recordset()
        self.assertEqual(self.partner.name, "versioned")
        current = self.get(self.path).headers["ETag"]
        response = self.call("PUT", self.path, body={"name": "current"}, headers={"If-Match": current})
        self.assertEqual(response.status_code, 200, response.text)
        self.partner.invalidate_recordset()
        self.assertEqual(self.partner.name, "current")
        self.assertProblem(
            self.call("PATCH", self.path, body={"name": "x"}, headers={"If-Match": "W/" + current}), 412
        )
        self.assertEqual(
            self.call("PATCH", self.path, body={"name": "y"}, headers={"If-Match": "*"}).status_code, 200
        )

    def test_if_match_star_needs_the_record_and_delete_is_guarded_too(self):
        missing = "/api/res.partner/2147483000"
        self.assertProblem(self.call("DELETE", missing, headers={"If-Match": "*"}), 412)
        self.assertProblem(self.call("DELETE", missing), 404)
        tag = self.get(self.path).headers["ETag"]
        self.written_elsewhere()
        self.assertProblem(self.call("DELETE", self.path, headers={"If-Match": tag}), 412)
        self.assertTrue(self.partner.exists())
        tag = self.get(self.path).headers["ETag"]
        self.assertEqual(self.call("DELETE", self.path, headers={"If-Match": tag}).status_code, 200)
        self.assertFalse(self.partner.exists())

    def test_prefer_return_representation(self):
        prefer = {"Prefer": "respond-async, return=representation"}
        created = self.call(
            "POST",
            "/api/res.partner/create",
            body={"name": "shown"},
            headers=prefer,
            params={"fields": "name,email"},
        )
        self.assertEqual(created.status_code, 201, created.text)
        body = created.json()
        self.assertEqual(set(body), {"id", "name", "email"})
        self.assertEqual((body["name"], body["email"]), ("shown", False))
        self.assertEqual(created.headers["Preference-Applied"], "return=representation")
        self.assertEqual(created.headers["Location"], f"/api/res.partner/{body['id']}")
        self.assertEqual(created.headers["ETag"], self.get(f"/api/res.partner/{body['id']}").headers["ETag"])
        many = self.call("POST", "/api/res.partner/create", body=[{"name": "a"}, {"name": "b"}], headers=prefer,
                         params={"fields": "name"})  # fmt: skip
        self.assertEqual([row["name"] for row in many.json()], ["a", "b"])
        updated = self.call("PATCH", self.path, body={"email": "new@example.com"}, headers=prefer)
        self.assertEqual(updated.json()["email"], "new@example.com")
        self.assertIn("ETag", updated.headers)
        plain = self.call("PATCH", self.path, body={"email": "plain@example.com"})
        self.assertEqual(plain.json(), {"id": self.partner.id, "message": "Record updated successfully."})
        self.assertNotIn("Preference-Applied", plain.headers)


@tagged("post_install", "-at_install")
class TestIdempotency(RestApiCase):
    """``Idempotency-Key``: one transaction per test, so "at once" is the e2e tests' part."""

    def post(self, body, idem, key=None, path="/api/res.partner/create"):
        return self.call("POST", path, key=key, body=body, headers={"Idempotency-Key": idem})

    def named(self, name):
        return self.env["res.partner"].with_context(active_test=False).search_count([("name", "=", name)])

    def test_a_repeated_create_replays_the_first_answer_and_runs_nothing(self):
        first = self.post({"name": "idem once"}, "k-1")
        self.assertEqual(first.status_code, 201, first.text)
        self.assertNotIn("Idempotent-Replayed", first.headers)
        again = self.post({"name": "idem once"}, "k-1")
        self.assertEqual((again.status_code, again.json()), (201, first.json()))
        self.assertEqual(again.headers["Idempotent-Replayed"], "true")
        self.assertEqual(again.headers["Location"], first.headers["Location"])
        self.assertNotEqual(again.headers["X-Request-Id"], first.headers["X-Request-Id"])
        self.assertEqual(self.named("idem once"), 1)
        # the same body, spaced and ordered otherwise, is the same request
        spaced = self.call("POST", "/api/res.partner/create", data=b'{ "name" :  "idem once" }',
                           headers={"Idempotency-Key": "k-1", "Content-Type": "application/json"})  # fmt: skip
        self.assertEqual(spaced.headers.get("Idempotent-Replayed"), "true")

    def test_the_same_key_for_another_request_is_422(self):
        self.assertEqual(self.post({"name": "idem a"}, "k-2").status_code, 201)
        self.assertProblem(self.post({"name": "idem b"}, "k-2"), 422)
        self.assertProblem(self.post({"name": "idem a"}, "k-2", path="/api/res.partner.category/create"), 422)
        self.assertProblem(self.call("DELETE", "/api/res.partner/1", headers={"Idempotency-Key": "k-2"}), 422)
        self.assertEqual((self.named("idem a"), self.named("idem b")), (1, 0))

    def test_keys_are_per_api_key(self):
        other = self.make_key(self.admin, name="other key")
        self.assertEqual(self.post({"name": "idem per key"}, "k-3").status_code, 201)
        mine = self.post({"name": "idem per key"}, "k-3", key=other)
        self.assertEqual(mine.status_code, 201)
        self.assertNotIn("Idempotent-Replayed", mine.headers)
        self.assertEqual(self.named("idem per key"), 2)

    def test_a_value_must_be_visible_ascii(self):
        for value in ("", "with space", "é", "x" * 256):
            self.assertProblem(self.post({"name": "idem bad"}, value), 400)
        self.assertEqual(self.named("idem bad"), 0)
        self.assertEqual(self.post({"name": "idem good"}, "x" * 255).status_code, 201)

    def test_a_failed_call_leaves_no_claim_behind(self):
        # A 4xx whose transaction rolls back is kept on a side connection afterwards; under
        # Odoo's tests that statement rolls back with the test request's cursor, so its
        # replay is the e2e tests' part (tests/e2e/test_safe_writes_live.py). Here: the
        # failed call's claim went with its transaction, and a corrected call may run.
        self.assertProblem(self.post({"name": "idem err", "no_such_field": 1}, "k-4"), 400)
        self.assertFalse(self.env["rest.api.idempotency"].sudo().search([("name", "=", "k-4")]))
        self.assertEqual(self.named("idem err"), 0)
        kept = self.call(
            "PATCH", "/api/res.partner/2147483000", body={"ref": "x"}, headers={"Idempotency-Key": "k-5"}
        )
        self.assertProblem(kept, 404)

    def test_an_update_and_a_delete_are_replayed(self):
        partner = self.env["res.partner"].create({"name": "idem target"})
        path = f"/api/res.partner/{partner.id}"
        first = self.call("PATCH", path, body={"ref": "one"}, headers={"Idempotency-Key": "k-6"})
        partner.ref = "changed meanwhile"
        again = self.call("PATCH", path, body={"ref": "one"}, headers={"Idempotency-Key": "k-6"})
        self.assertEqual((again.json(), again.headers["Idempotent-Replayed"]), (first.json(), "true"))
        self.assertEqual(partner.ref, "changed meanwhile")
        deleted = self.call("DELETE", path, headers={"Idempotency-Key": "k-7"})
        self.assertEqual(deleted.status_code, 200)
        replayed = self.call("DELETE", path, headers={"Idempotency-Key": "k-7"})
        self.assertEqual((replayed.status_code, replayed.headers["Idempotent-Replayed"]), (200, "true"))
        self.assertProblem(self.call("DELETE", path), 404)

    def test_expired_answers_are_not_replayed_and_are_cleaned_up(self):
        self.assertEqual(self.post({"name": "idem ttl"}, "k-8").status_code, 201)
        self.env.cr.execute(
            "UPDATE rest_api_idempotency SET expires = expires - interval '2 days' WHERE name = 'k-8'"
        )
        late = self.post({"name": "idem ttl"}, "k-8")
        self.assertEqual(late.status_code, 201)
        self.assertNotIn("Idempotent-Replayed", late.headers)
        self.assertEqual(self.named("idem ttl"), 2)
        Kept = self.env["rest.api.idempotency"].sudo()
        self.assertEqual(Kept.search_count([("name", "=", "k-8")]), 1)  # taken over, not added
        self.env.cr.execute("UPDATE rest_api_idempotency SET expires = expires - interval '2 days'")
        Kept._gc_expired()
        self.assertEqual(Kept.search_count([]), 0)

    def test_the_ttl_setting(self):
        self.env["ir.config_parameter"].sudo().set_param("rest_api.idempotency_ttl", "60")
        self.assertEqual(self.post({"name": "idem 60"}, "k-9").status_code, 201)
        kept = self.env["rest.api.idempotency"].sudo().search([("name", "=", "k-9")])
        self.env.cr.execute("SELECT EXTRACT(EPOCH FROM expires - (now() AT TIME ZONE 'UTC')) FROM "
                            "rest_api_idempotency WHERE id = %s", [kept.id])  # fmt: skip
        self.assertAlmostEqual(self.env.cr.fetchone()[0], 60, delta=5)

    def test_server_errors_are_not_kept(self):
        def crash(handler):
            def crashing(call):
                handler(call)
                raise RuntimeError("boom")

            return crashing

        with (
            with_handlers(self.env, {"create": crash}),
            mute_logger("odoo.addons.rest_api.controllers.dispatcher"),
        ):
            self.assertProblem(self.post({"name": "idem 500"}, "k-12"), 500)
        self.assertFalse(self.env["rest.api.idempotency"].sudo().search([("name", "=", "k-12")]))
        self.assertEqual(self.named("idem 500"), 0)
        again = self.post({"name": "idem 500"}, "k-12")
        self.assertEqual(again.status_code, 201)
        self.assertNotIn("Idempotent-Replayed", again.headers)

    def test_a_key_adds_one_statement_to_the_transaction_and_its_lock_is_let_go(self):
        def own_statements(name, idem=None):
            """The request transaction's statements: all those of the call but the side store's."""
            side = SameTransaction.statements
            with recorded_statements() as statements:
                response = self.call("POST", "/api/res.partner/create", body={"name": name},
                                     headers={"Idempotency-Key": idem} if idem else None)  # fmt: skip
            self.assertEqual(response.status_code, 201, response.text)
            return len(statements) - (SameTransaction.statements - side), statements

        own_statements("idem warm-up", "k-warm")  # caches filled
        taken = HeldInTransaction.taken
        plain, plain_sql = own_statements("idem plain")
        keyed, keyed_sql = own_statements("idem keyed", "k-count")
        self.assertEqual(keyed, plain + 1, "\n".join(["without:", *plain_sql, "with:", *keyed_sql]))
        self.assertEqual(self.post({"name": "idem keyed"}, "k-count").headers["Idempotent-Replayed"], "true")
        self.assertProblem(self.post({"name": "idem bad", "no_such_field": 1}, "k-count-2"), 400)
        # a lock for each (the test backend always gets it), each let go once its answer is sent
        self.assertEqual(HeldInTransaction.taken, taken + 3)
        for _wait in range(100):  # let go as the server closes its answer, maybe after the client read it
            if HeldInTransaction.released == HeldInTransaction.taken:
                break
            time.sleep(0.01)
        self.assertEqual(HeldInTransaction.released, HeldInTransaction.taken)

    def test_throttled_calls_claim_nothing(self):
        limited = self.make_key(self.admin, name="limited", rate_limit=1, rate_limit_period=3600)
        self.assertEqual(self.post({"name": "idem 429 first"}, "k-10", key=limited).status_code, 201)
        self.assertProblem(self.post({"name": "idem 429"}, "k-11", key=limited), 429)
        self.assertFalse(self.env["rest.api.idempotency"].sudo().search([("name", "=", "k-11")]))


@tagged("post_install", "-at_install")
class TestExternalIds(RestApiCase):
    def path(self, xmlid, model="res.partner"):
        return f"/api/{model}/xmlid/{xmlid}"

    def test_put_creates_then_updates_and_get_reads(self):
        created = self.call("PUT", self.path("shop_sync.p1"), body={"name": "by xmlid", "ref": "A"})
        self.assertEqual(created.status_code, 201, created.text)
        partner = self.env.ref("shop_sync.p1")
        self.assertEqual(created.headers["Location"], f"/api/res.partner/{partner.id}")
        self.assertEqual(created.json(), {"id": partner.id, "message": "Record created successfully."})
        data = self.env["ir.model.data"].search([("module", "=", "shop_sync"), ("name", "=", "p1")])
        self.assertEqual((data.model, data.res_id, data.noupdate), ("res.partner", partner.id, True))
        updated = self.call("PUT", self.path("shop_sync.p1"), body={"ref": "B"},
                            headers={"Prefer": "return=representation"}, params={"fields": "name,ref"})  # fmt: skip
        self.assertEqual(updated.status_code, 200, updated.text)
        self.assertEqual(updated.json(), {"id": partner.id, "name": "by xmlid", "ref": "B"})
        read = self.get(self.path("shop_sync.p1"), params={"fields": "ref"})
        self.assertEqual(read.json(), {"id": partner.id, "ref": "B"})
        self.assertEqual(read.headers["ETag"], self.get(f"/api/res.partner/{partner.id}").headers["ETag"])
        self.assertProblem(self.get(self.path("shop_sync.nope")), 404)
        # an external id of another model's record is not this model's
        self.assertProblem(self.get(self.path("shop_sync.p1", model="res.partner.category")), 409)
        self.assertProblem(self.get(self.path("no_dot_here")), 404)

    def test_an_installed_module_namespace_is_refused_for_new_ids(self):
        self.assertProblem(self.call("PUT", self.path("base.rest_api_new"), body={"name": "no"}), 400)
        self.assertFalse(self.env["res.partner"].search([("name", "=", "no")]))
        # existing ones of an installed module can be written
        main = self.env.ref("base.main_partner")
        response = self.call("PUT", self.path("base.main_partner"), body={"ref": "HQ"})
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(main.ref, "HQ")

    def test_the_scope_is_create_or_write_as_the_case_may_be(self):
        partner = self.env["res.partner"].create({"name": "named"})
        self.env["ir.model.data"].create({"module": "shop_sync", "name": "named", "model": "res.partner",
                                          "res_id": partner.id})  # fmt: skip
        read_write = self.make_key(self.admin, all_models=False, scope_ids=[self.scope("res.partner", "rw")])
        create_only = self.make_key(self.admin, all_models=False, scope_ids=[self.scope("res.partner", "c")])
        self.assertEqual(self.call("PUT", self.path("shop_sync.named"), key=read_write, body={"ref": "w"}).status_code,
                         200)  # fmt: skip
        self.assertProblem(
            self.call("PUT", self.path("shop_sync.new"), key=read_write, body={"name": "x"}), 403
        )
        self.assertProblem(
            self.call("PUT", self.path("shop_sync.named"), key=create_only, body={"ref": "c"}), 403
        )
        self.assertEqual(self.call("PUT", self.path("shop_sync.new"), key=create_only, body={"name": "x"}).status_code,
                         201)  # fmt: skip
        self.assertProblem(self.get(self.path("shop_sync.named"), key=create_only), 403)

    def test_a_dangling_external_id_names_the_new_record(self):
        partner = self.env["res.partner"].create({"name": "gone"})
        self.env["ir.model.data"].create({"module": "shop_sync", "name": "gone", "model": "res.partner",
                                          "res_id": partner.id})  # fmt: skip
        self.env.cr.execute("DELETE FROM res_partner WHERE id = %s", [partner.id])
        self.assertProblem(self.get(self.path("shop_sync.gone")), 404)
        created = self.call("PUT", self.path("shop_sync.gone"), body={"name": "back"})
        self.assertEqual(created.status_code, 201, created.text)
        self.assertEqual(self.env.ref("shop_sync.gone").name, "back")


@tagged("post_install", "-at_install")
class TestBatch(RestApiCase):
    def batch(self, operations, key=None):
        return self.call("POST", "/api/batch", key=key, body={"operations": operations})

    def test_operations_run_in_order_with_references(self):
        response = self.batch([
            {"method": "POST", "path": "/api/res.partner/create", "body": {"name": "ACME", "is_company": True}},
            {"method": "POST", "path": "/api/res.partner/create", "body": {"name": "Jane", "parent_id": "${0.id}"}},
            {"method": "PATCH", "path": "/api/res.partner/${1.id}", "body": {"email": "jane@acme.test"},
             "headers": {"Prefer": "return=representation"}},
            {"method": "GET", "path": "/api/res.partner/${1.id}?fields=name,parent_id"},
            {"method": "GET", "path": "/api/res.partner/search?domain=[[\"name\",\"=\",\"Jane\"]]&fields=name"},
        ])  # fmt: skip
        self.assertEqual(response.status_code, 200, response.text)
        results = response.json()["results"]
        self.assertEqual([r["status"] for r in results], [201, 201, 200, 200, 200])
        acme, jane = results[0]["body"]["id"], results[1]["body"]["id"]
        self.assertEqual(results[0]["headers"]["Location"], f"/api/res.partner/{acme}")
        self.assertEqual(results[2]["body"]["email"], "jane@acme.test")
        self.assertIn("ETag", results[2]["headers"])
        self.assertEqual(results[3]["body"], {"id": jane, "name": "Jane", "parent_id": [acme, "ACME"]})
        self.assertEqual(results[4]["headers"]["X-Total-Count"], "1")

    def test_one_failure_fails_the_batch_and_writes_nothing(self):
        partner = self.env["res.partner"].create({"name": "kept"})
        response = self.batch([
            {"method": "PATCH", "path": f"/api/res.partner/{partner.id}", "body": {"ref": "changed"}},
            {"method": "POST", "path": "/api/res.partner/create", "body": {"name": "new one"}},
            {"method": "DELETE", "path": "/api/res.partner/2147483000"},
        ])  # fmt: skip
        self.assertProblem(response, 404)
        self.assertEqual(response.json()["operation"], 2)
        self.assertFalse(partner.ref)
        self.assertFalse(self.env["res.partner"].search([("name", "=", "new one")]))

    def test_malformed_batches_are_400_naming_the_operation(self):
        create = {"method": "POST", "path": "/api/res.partner/create", "body": {"name": "x"}}
        cases = {
            "self": [dict(create, body={"name": "x", "parent_id": "${0.id}"})],
            "later": [create, {"method": "GET", "path": "/api/res.partner/${2.id}"}, create],
            "member": [create, {"method": "GET", "path": "/api/res.partner/${0.nope}"}],
            "token route": [create, {"method": "POST", "path": "/api/auth/login", "body": {}}],
            "nested batch": [
                create,
                {"method": "POST", "path": "/api/batch", "body": {"operations": [create]}},
            ],
            "docs": [create, {"method": "GET", "path": "/api/openapi.json"}],
            "method": [create, {"method": "HEAD", "path": "/api/res.partner/1"}],
            "header": [create, {"method": "GET", "path": "/api/res.partner/1", "headers": {"api-key": "x"}}],
        }
        for name, operations in cases.items():
            with self.subTest(name):
                response = self.batch(operations)
                self.assertProblem(response, 400)
                self.assertEqual(response.json().get("operation"), 0 if name == "self" else 1)
        self.assertProblem(self.call("POST", "/api/batch", body={"operations": []}), 400)
        self.assertProblem(self.call("POST", "/api/batch", body=[create]), 400)
        self.assertFalse(self.env["res.partner"].search([("name", "=", "x")]))

    def test_the_operation_limit(self):
        self.env["ir.config_parameter"].sudo().set_param("rest_api.max_batch_operations", "2")
        read = {"method": "GET", "path": f"/api/res.partner/{self.admin.partner_id.id}"}
        self.assertProblem(self.batch([read] * 3), 413)
        self.assertEqual(self.batch([read] * 2).status_code, 200)

    def test_scopes_and_the_rate_limit_hold_per_operation(self):
        key = self.make_key(self.admin, all_models=False, rate_limit=4, rate_limit_period=3600,
                            scope_ids=[self.scope("res.partner", "r")])  # fmt: skip
        partner = self.admin.partner_id.id
        read = {"method": "GET", "path": f"/api/res.partner/{partner}"}
        # the batch and its two operations count 3 of 4 (a refused call's count rolls back
        # with the test's cursor here; against a live server it stays, see the e2e tests)
        self.assertEqual(self.batch([read, read], key=key).status_code, 200)
        over = self.batch([read, read], key=key)
        self.assertProblem(over, 429)
        self.assertEqual(over.json()["operation"], 0)
        scoped = self.make_key(self.admin, all_models=False, scope_ids=[self.scope("res.partner", "r")])
        refused = self.batch([read, {"method": "PATCH", "path": f"/api/res.partner/{partner}", "body": {"ref": "x"}}],
                             key=scoped)  # fmt: skip
        self.assertProblem(refused, 403)
        self.assertEqual(refused.json()["operation"], 1)
