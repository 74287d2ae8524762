"""API.md section 9: versions (ETag, If-None-Match, If-Match) and Prefer: return=representation.

Every call of a test shares its transaction, whose clock does not move: a
write keeps ``write_date``, so "another client wrote since" is made by moving
``write_date`` by hand (the e2e tests write for real, over two workers).
"""

from odoo.tests import tagged

from .common import RestApiCase


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
