"""Files and reports (API.md section 11): binary fields as bytes, uploads, attachments,
reports; through Odoo's access rights, record rules, field groups and the key's scopes."""

import base64
import hashlib
from unittest.mock import patch

from odoo.tests import new_test_user, tagged

from .common import RestApiCase

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
REPORT = "base.report_irmodulereference"
REPORT_XMLID = "base.ir_module_reference_print"
BOUNDARY = "files-test-boundary"


def multipart(*parts):
    """A multipart/form-data body of (name, file name or None, bytes, type) parts."""
    chunks = []
    for name, filename, data, mimetype in parts:
        disposition = f'form-data; name="{name}"' + (
            f'; filename="{filename}"' if filename is not None else ""
        )
        head = f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\nContent-Type: {mimetype}\r\n\r\n"
        chunks.append(head.encode() + data + b"\r\n")
    body = b"".join(chunks) + f"--{BOUNDARY}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


class FilesCase(RestApiCase):
    """The records and helpers of the file tests."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.partner = cls.env["res.partner"].create(
            {"name": "Files Partner", "image_1920": base64.b64encode(PNG)}
        )
        cls.empty = cls.env["res.partner"].create({"name": "Files Empty"})
        cls.note = cls.env["ir.attachment"].create(
            {"name": "Überblick été.txt", "raw": b"0123456789abcdefghij", "mimetype": "text/plain"}
        )
        cls.base_module = cls.env.ref("base.module_base")

    def binary(self, model, record_id, field, **kw):
        return self.get(f"/api/{model}/{record_id}/binary/{field}", **kw)

    def put(self, model, record_id, field, data, content_type="application/octet-stream", key=None):
        return self.call(
            "PUT", f"/api/{model}/{record_id}/binary/{field}", key=key, data=data,
            headers={"Content-Type": content_type},
        )  # fmt: skip

    def scoped_key(self, user=None, **scopes):
        lines = [self.scope(model.replace("_", "."), letters) for model, letters in scopes.items()]
        return self.make_key(user or self.admin, all_models=False, scope_ids=lines)

    def upload(self, record, *parts, key=None):
        body, headers = multipart(*parts)
        return self.call(
            "POST", f"/api/{record._name}/{record.id}/attachments", data=body, headers=headers, key=key
        )


@tagged("post_install", "-at_install")
class TestFiles(FilesCase):
    # ------------------------------------------------------------ GET binary
    def test_download_is_the_bytes_with_type_tag_and_private_cache(self):
        response = self.binary("res.partner", self.partner.id, "image_1920")
        self.assertEqual(response.status_code, 200, response.text[:300])
        self.assertEqual(response.content, PNG)
        self.assertEqual(response.headers["Content-Type"], "image/png")
        self.assertEqual(response.headers["Content-Length"], str(len(PNG)))
        self.assertEqual(response.headers["ETag"], f'"{hashlib.sha1(PNG).hexdigest()}"')
        self.assertEqual(response.headers["Cache-Control"], "private, no-cache")
        self.assertEqual(response.headers["X-Content-Type-Options"], "nosniff")
        self.assertTrue(response.headers["Content-Disposition"].startswith('inline; filename="'))

    def test_image_sizes_are_fields_like_any_other(self):
        response = self.binary("res.partner", self.partner.id, "image_128")
        self.assertEqual(response.status_code, 200, response.text[:300])
        self.assertTrue(response.content.startswith(b"\x89PNG"))

    def test_if_none_match_is_304_until_the_content_changes(self):
        first = self.binary("res.partner", self.partner.id, "image_1920")
        etag = first.headers["ETag"]
        same = self.binary("res.partner", self.partner.id, "image_1920", headers={"If-None-Match": etag})
        self.assertEqual((same.status_code, same.content), (304, b""))
        self.partner.image_1920 = base64.b64encode(GIF)
        after = self.binary("res.partner", self.partner.id, "image_1920", headers={"If-None-Match": etag})
        self.assertEqual((after.status_code, after.content), (200, GIF))
        self.assertNotEqual(after.headers["ETag"], etag)

    def test_ranges(self):
        path = ("ir.attachment", self.note.id, "datas")
        for asked, status, body, sent in (
            ("bytes=0-3", 206, b"0123", "bytes 0-3/20"),
            ("bytes=16-", 206, b"ghij", "bytes 16-19/20"),
            ("bytes=-4", 206, b"ghij", "bytes 16-19/20"),
        ):
            response = self.binary(*path, headers={"Range": asked})
            self.assertEqual((response.status_code, response.content), (status, body), asked)
            self.assertEqual(response.headers["Content-Range"], sent)
        bad = self.binary(*path, headers={"Range": "bytes=50-60"})
        self.assertProblem(bad, 416)
        self.assertEqual(bad.headers["Content-Range"], "bytes */20")

    def test_an_attachment_carries_its_file_name_not_ascii_included(self):
        response = self.binary("ir.attachment", self.note.id, "datas")
        self.assertEqual(response.status_code, 200, response.text[:300])
        self.assertEqual(response.headers["Content-Type"].split(";")[0], "text/plain")
        self.assertEqual(
            response.headers["Content-Disposition"],
            "inline; filename=\"Uberblick ete.txt\"; filename*=UTF-8''%C3%9Cberblick%20%C3%A9t%C3%A9.txt",
        )

    def test_empty_unknown_and_missing_are_404(self):
        self.assertProblem(self.binary("res.partner", self.empty.id, "image_1920"), 404)
        self.assertProblem(self.binary("res.partner", self.partner.id, "no_such_field"), 404)
        self.assertProblem(self.binary("res.partner", self.partner.id, "name"), 404)  # not binary
        self.assertProblem(self.binary("res.partner", 2_000_000_000, "image_1920"), 404)
        self.assertProblem(self.binary("no.such.model", self.partner.id, "image_1920"), 404)

    def test_record_rules_and_field_groups_apply(self):
        group = self.env["res.groups"].create({"name": "files test: no partners"})
        user = new_test_user(self.env, login="files_rules", groups="base.group_user")
        user.groups_id |= group
        self.env["ir.rule"].create({
            "name": "files test: hide one partner", "model_id": self.env["ir.model"]._get_id("res.partner"),
            "groups": [(6, 0, group.ids)], "domain_force": f"[('id', '!=', {self.partner.id})]",
        })  # fmt: skip
        key = self.make_key(user)
        self.assertProblem(self.binary("res.partner", self.partner.id, "image_1920", key=key), 403)
        self.assertProblem(self.put("res.partner", self.partner.id, "image_1920", GIF, "image/gif", key), 403)
        field = self.env["res.partner"]._fields["image_1920"]
        with patch.object(field, "groups", "base.group_system"):
            self.env.registry.clear_cache()
            other = self.env["res.partner"].create({"name": "visible", "image_1920": base64.b64encode(PNG)})
            self.assertProblem(self.binary("res.partner", other.id, "image_1920", key=key), 403)
            self.assertEqual(self.binary("res.partner", other.id, "image_1920").status_code, 200)  # admin
        self.env.registry.clear_cache()

    def test_scopes_hold(self):
        path = ("res.partner", self.partner.id, "image_1920")
        self.assertEqual(self.binary(*path, key=self.scoped_key(res_partner="r")).status_code, 200)
        for scopes in ({"res_country": "rcwdx"}, {"res_partner": "cwdx"}):
            response = self.binary(*path, key=self.scoped_key(**scopes))
            self.assertProblem(response, 403)
            self.assertNotIn(PNG, response.content)

    # ------------------------------------------------------------ PUT binary
    def test_put_raw_bytes_then_read_them_back(self):
        response = self.put("res.partner", self.empty.id, "image_1920", GIF, "image/gif")
        self.assertEqual(response.status_code, 200, response.text[:300])
        self.assertEqual(response.json(), {"id": self.empty.id, "field": "image_1920", "size": len(GIF),
                                           "message": "File saved."})  # fmt: skip
        self.assertEqual(base64.b64decode(self.empty.image_1920), GIF)
        self.assertEqual(self.binary("res.partner", self.empty.id, "image_1920").content, GIF)
        # an empty body empties the field
        self.assertEqual(self.put("res.partner", self.empty.id, "image_1920", b"").status_code, 200)
        self.assertFalse(self.empty.image_1920)

    def test_put_multipart_with_one_file_part(self):
        body, headers = multipart(("file", "dot.png", PNG, "image/png"))
        response = self.call(
            "PUT", f"/api/res.partner/{self.empty.id}/binary/image_1920", data=body, headers=headers
        )
        self.assertEqual(response.status_code, 200, response.text[:300])
        self.assertEqual(base64.b64decode(self.empty.image_1920), PNG)
        two, headers = multipart(("file", "a.png", PNG, "image/png"), ("file", "b.png", PNG, "image/png"))
        response = self.call(
            "PUT", f"/api/res.partner/{self.empty.id}/binary/image_1920", data=two, headers=headers
        )
        self.assertProblem(response, 400)
        broken = {"Content-Type": "multipart/form-data"}  # no boundary
        response = self.call(
            "PUT", f"/api/res.partner/{self.empty.id}/binary/image_1920", data=b"x", headers=broken
        )
        self.assertProblem(response, 400)

    def test_an_image_field_takes_images_of_their_declared_type(self):
        path = ("res.partner", self.partner.id, "image_1920")
        problem = self.assertProblem(self.put(*path, b"just some text\n", "text/plain"), 400)
        self.assertIn("not one", problem["detail"])
        self.assertProblem(self.put(*path, b"just some text\n", "image/png"), 400)
        problem = self.assertProblem(self.put(*path, PNG, "image/jpeg"), 400)
        self.assertIn("declared as image/jpeg", problem["detail"])
        body, headers = multipart(("file", "x.png", b"not a png", "image/png"))
        self.assertProblem(self.call("PUT", "/api/res.partner/%d/binary/image_1920" % self.partner.id,
                                     data=body, headers=headers), 400)  # fmt: skip
        self.assertEqual(base64.b64decode(self.partner.image_1920), PNG)
        # a plain binary field takes any bytes
        text = b"plain bytes \x00\xff"
        self.assertEqual(self.put("ir.attachment", self.note.id, "raw", text, "text/plain").status_code, 200)
        self.assertEqual(self.note.raw, text)

    def test_an_attachment_is_written_through_datas_or_raw(self):
        self.assertEqual(self.put("ir.attachment", self.note.id, "datas", b"new content").status_code, 200)
        self.assertEqual(self.note.raw, b"new content")
        self.assertProblem(self.put("ir.attachment", self.note.id, "db_datas", b"x"), 400)

    def test_put_needs_the_write_scope_and_the_body_limit_holds(self):
        path = ("res.partner", self.partner.id, "image_1920")
        for scopes in ({"res_partner": "rcdx"}, {"res_country": "rcwdx"}):
            self.assertProblem(self.put(*path, GIF, "image/gif", key=self.scoped_key(**scopes)), 403)
        writer = self.scoped_key(res_partner="w")
        self.assertEqual(self.put(*path, GIF, "image/gif", key=writer).status_code, 200)
        self.env["ir.config_parameter"].set_param("rest_api.max_body_size", "64")
        problem = self.assertProblem(self.put(*path, PNG + b"x" * 100, "image/png"), 413)
        self.assertIn("64 bytes", problem["detail"])
        body, headers = multipart(("file", "big.png", PNG + b"x" * 100, "image/png"))
        self.assertProblem(self.call("PUT", "/api/res.partner/%d/binary/image_1920" % self.partner.id,
                                     data=body, headers=headers), 413)  # fmt: skip
        self.assertEqual(base64.b64decode(self.partner.image_1920), GIF)

    # ------------------------------------------------------------ attachments
    def test_upload_attachments(self):
        response = self.upload(self.partner, ("file", "a.txt", b"first", "text/plain"),
                               ("file", "été.png", PNG, "image/png"), ("note", None, b"a text field", "text/plain"))  # fmt: skip
        self.assertEqual(response.status_code, 201, response.text[:300])
        ids = response.json()["ids"]
        atts = self.env["ir.attachment"].browse(ids)
        self.assertEqual(atts.mapped("name"), ["a.txt", "été.png"])
        self.assertEqual(atts.mapped("raw"), [b"first", PNG])
        self.assertEqual({(a.res_model, a.res_id) for a in atts}, {("res.partner", self.partner.id)})
        self.assertEqual(atts.mapped("mimetype"), ["text/plain", "image/png"])
        # then records like any other
        read = self.get(f"/api/ir.attachment/{ids[0]}", params={"fields": "name,res_id"})
        self.assertEqual(read.json()["name"], "a.txt")
        self.assertEqual(self.binary("ir.attachment", ids[1], "datas").content, PNG)

    def test_upload_attachments_needs_write_and_attachment_create(self):
        part = ("file", "scoped.txt", b"scoped", "text/plain")
        for scopes in ({"res_partner": "rcwdx"}, {"res_partner": "r", "ir_attachment": "rc"},
                       {"res_partner": "rw", "ir_attachment": "rwd"}):  # fmt: skip
            self.assertProblem(self.upload(self.partner, part, key=self.scoped_key(**scopes)), 403)
        allowed = self.scoped_key(res_partner="w", ir_attachment="c")
        self.assertEqual(self.upload(self.partner, part, key=allowed).status_code, 201)

    def test_upload_attachments_refusals(self):
        self.assertProblem(self.upload(self.partner, ("note", None, b"no file", "text/plain")), 400)
        response = self.call(
            "POST", f"/api/res.partner/{self.partner.id}/attachments", body={"not": "multipart"}
        )
        self.assertProblem(response, 400)
        self.assertProblem(
            self.upload(self.empty.browse(2_000_000_000), ("file", "a", b"a", "text/plain")), 404
        )
        # Odoo's own rule: attaching needs write access to the record
        reader = new_test_user(
            self.env, login="files_reader", groups="base.group_user"
        )  # reads partners only
        self.assertProblem(self.upload(self.partner, ("file", "p.txt", b"p", "text/plain"),
                                       key=self.make_key(reader)), 403)  # fmt: skip

    # ------------------------------------------------------------ reports
    def report(self, report=REPORT, record_id=None, model="ir.module.module", key=None, **params):
        record_id = record_id or self.base_module.id
        return self.get(f"/api/{model}/{record_id}/report/{report}", key=key, params=params)

    def test_report_as_html_by_name_or_external_id(self):
        for report in (REPORT, REPORT_XMLID):
            response = self.report(report, format="html")
            self.assertEqual(response.status_code, 200, response.text[:300])
            self.assertEqual(response.headers["Content-Type"], "text/html; charset=utf-8")
            self.assertIn("Base", response.text)
            self.assertEqual(
                response.headers["Content-Disposition"], 'inline; filename="Technical guide.html"'
            )
            self.assertEqual(response.headers["Cache-Control"], "private, no-store")

    def test_a_report_is_named_by_its_print_report_name(self):
        report = self.env.ref(REPORT_XMLID)
        report.print_report_name = "'Guide %s %s' % (object.name, time.strftime('%Y'))"
        response = self.report(format="html")
        self.assertEqual(response.status_code, 200, response.text[:300])
        year = response.headers["Content-Disposition"].split("Guide base ")[1][:4]
        self.assertTrue(year.isdigit(), response.headers["Content-Disposition"])
        report.print_report_name = "object.no_such_field"  # broken: the report's own name
        response = self.report(format="html")
        self.assertEqual(response.headers["Content-Disposition"], 'inline; filename="Technical guide.html"')

    def test_pdf_without_wkhtmltopdf_is_503_and_html_still_works(self):
        Report = type(self.env["ir.actions.report"])
        with patch.object(Report, "get_wkhtmltopdf_state", lambda self: "install"):
            problem = self.assertProblem(self.report(), 503)
            self.assertIn("wkhtmltopdf", problem["detail"])
            self.assertEqual(self.report(format="html").status_code, 200)
        # with it, Odoo's test mode renders the HTML a PDF is made of: the answer says what it is
        response = self.report()
        self.assertEqual(response.status_code, 200, response.text[:300])
        self.assertIn(response.headers["Content-Type"].split(";")[0], ("application/pdf", "text/html"))

    def test_report_refusals(self):
        self.assertProblem(self.report("base.no_such_report", format="html"), 404)
        self.assertProblem(self.report(model="res.partner", record_id=self.partner.id, format="html"), 404)
        self.assertProblem(self.report(record_id=2_000_000_000, format="html"), 404)
        self.assertProblem(self.report(format="docx"), 400)
        self.assertProblem(self.report("base.res_partner_1", format="html"), 404)  # not a report

    def test_report_groups_record_rules_and_scopes_apply(self):
        # the technical guide reads Odoo's own models: a settings user may print it
        user = new_test_user(self.env, login="files_reports", groups="base.group_user,base.group_system")
        key = self.make_key(user)
        self.assertEqual(self.report(key=key, format="html").status_code, 200)
        printers = self.env["res.groups"].create({"name": "files test: printers"})
        self.env.ref(REPORT_XMLID).groups_id = printers
        problem = self.assertProblem(self.report(key=key, format="html"), 403)
        self.assertIn("report groups", problem["detail"])
        user.groups_id |= printers
        self.assertEqual(self.report(key=key, format="html").status_code, 200)
        hidden = self.env["res.groups"].create({"name": "files test: no base module"})
        user.groups_id |= hidden
        self.env["ir.rule"].create({
            "name": "files test: hide base", "model_id": self.env["ir.model"]._get_id("ir.module.module"),
            "groups": [(6, 0, hidden.ids)], "domain_force": "[('name', '!=', 'base')]",
        })  # fmt: skip
        self.assertProblem(self.report(key=key, format="html"), 403)
        self.env.ref(REPORT_XMLID).groups_id = False
        self.assertProblem(self.report(key=self.scoped_key(res_partner="rcwdx"), format="html"), 403)
        self.assertProblem(self.report(key=self.scoped_key(ir_module_module="cwdx"), format="html"), 403)
        self.assertEqual(
            self.report(key=self.scoped_key(ir_module_module="r"), format="html").status_code, 200
        )

    def test_a_report_of_several_records(self):
        web = self.env.ref("base.module_web")
        path = f"/api/ir.module.module/report/{REPORT}"
        response = self.get(path, params={"ids": f"{web.id},{self.base_module.id}", "format": "html"})
        self.assertEqual(response.status_code, 200, response.text[:300])
        self.assertIn(web.shortdesc, response.text)
        self.assertIn(self.base_module.shortdesc, response.text)
        self.assertProblem(self.get(path, params={"ids": f"{web.id},2000000000", "format": "html"}), 404)
        self.assertProblem(self.get(path, params={"format": "html"}), 400)
        self.assertProblem(self.get(path, params={"ids": "1,x", "format": "html"}), 400)

    # ------------------------------------------------------------ documents
    def test_the_document_lists_binary_fields_and_printable_reports(self):
        key = self.scoped_key(ir_module_module="r", res_partner="rw")

        def parameter(doc, path, name):
            return next(p for p in doc["paths"][path]["parameters"] if p.get("name") == name)["schema"]

        doc = self.get("/api/openapi.json", key=key).json()
        self.assertIn(REPORT, parameter(doc, "/api/ir.module.module/{id}/report/{report}", "report")["enum"])
        self.assertIn("image_1920", parameter(doc, "/api/res.partner/{id}/binary/{field}", "field")["enum"])
        self.assertIn("put", doc["paths"]["/api/res.partner/{id}/binary/{field}"])
        self.assertNotIn("put", doc["paths"]["/api/ir.module.module/{id}/binary/{field}"])  # read only
        # attaching needs create on ir.attachment, which this key lacks
        self.assertNotIn("/api/res.partner/{id}/attachments", doc["paths"])
        with_attachments = self.scoped_key(res_partner="rw", ir_attachment="c")
        self.assertIn(
            "/api/res.partner/{id}/attachments",
            self.get("/api/openapi.json", key=with_attachments).json()["paths"],
        )
        # a report the user's groups may not print is not offered
        self.env.ref(REPORT_XMLID).groups_id = self.env["res.groups"].create({"name": "files test: printers"})
        doc = self.get("/api/openapi.json", key=key).json()
        reports = doc["paths"].get("/api/ir.module.module/{id}/report/{report}")
        self.assertTrue(
            reports is None
            or REPORT not in parameter(doc, "/api/ir.module.module/{id}/report/{report}", "report")["enum"]
        )


@tagged("post_install", "-at_install")
class TestFilesHardening(FilesCase):
    """The attack findings on the file routes (parts, Location, line breaks, linked
    attachments, Range, empty images, raw bytes, file names), each held."""

    def test_a_multipart_body_has_at_most_100_parts_and_nothing_is_made_beyond(self):
        before = self.env["ir.attachment"].search_count([("res_model", "=", "res.partner")])
        parts = [("file", f"p{i}.txt", b"x", "text/plain") for i in range(101)]
        problem = self.assertProblem(self.upload(self.partner, *parts), 413)
        self.assertIn("100 parts", problem["detail"])
        self.assertEqual(self.env["ir.attachment"].search_count([("res_model", "=", "res.partner")]), before)
        response = self.upload(self.partner, *parts[:100])
        self.assertEqual(response.status_code, 201, response.text[:300])
        self.assertEqual(len(response.json()["ids"]), 100)
        # the Location header stays short; the body has the ids
        self.assertLessEqual(len(response.headers.get("Location", "")), 2000)

    def test_location_names_one_attachment_or_a_search_of_them(self):
        one = self.upload(self.partner, ("file", "one.txt", b"1", "text/plain"))
        self.assertEqual(one.headers["Location"], f"/api/ir.attachment/{one.json()['ids'][0]}")
        two = self.upload(
            self.partner, ("file", "a.txt", b"a", "text/plain"), ("file", "b.txt", b"b", "text/plain")
        )
        self.assertIn("/api/ir.attachment/search?", two.headers["Location"])

    def test_a_file_part_with_an_early_line_break_is_not_a_text_part(self):
        for payload in (b"\r" + b"A" * 3_000_000, b"x\n" + b"A" * 3_000_000):
            response = self.upload(self.partner, ("file", "big.bin", payload, "application/octet-stream"))
            self.assertEqual(response.status_code, 201, response.text[:300])
            self.assertEqual(self.env["ir.attachment"].browse(response.json()["ids"]).raw, payload)
            body, headers = multipart(("file", "big.bin", payload, "application/octet-stream"))
            response = self.call(
                "PUT", f"/api/ir.attachment/{self.note.id}/binary/raw", data=body, headers=headers
            )
            self.assertEqual(response.status_code, 200, response.text[:300])
            self.assertEqual(self.note.raw, payload)
        # a text part is still bounded
        big_text = self.upload(self.partner, ("file", "a.txt", b"a", "text/plain"),
                               ("note", None, b"t" * ((1 << 20) + 1), "text/plain"))  # fmt: skip
        self.assertProblem(big_text, 413)

    # ------------------------------------------------------------ attachments of records: the wall
    def image_attachment(self, partner):
        return (
            self.env["ir.attachment"]
            .sudo()
            .search(
                [
                    ("res_model", "=", "res.partner"),
                    ("res_id", "=", partner.id),
                    ("res_field", "=", "image_128"),
                ]
            )
        )

    def linked(self):
        """(the partner's image_128 attachment, a chatter attachment of the partner, a key
        with every operation on ir.attachment and nothing on res.partner)"""
        chatter = self.env["ir.attachment"].create(
            {
                "name": "chatter.txt",
                "raw": b"secret of the partner",
                "res_model": "res.partner",
                "res_id": self.partner.id,
            }  # fmt: skip
        )
        att = self.image_attachment(self.partner)
        self.assertTrue(att)
        return att, chatter, self.scoped_key(ir_attachment="rcwdx")

    def test_the_bytes_of_a_linked_attachment_need_read_on_its_model(self):
        att, chatter, only_attachments = self.linked()
        both = self.scoped_key(ir_attachment="r", res_partner="r")
        for attachment in (att, chatter):
            path = ("ir.attachment", attachment.id, "datas")
            problem = self.assertProblem(self.binary(*path, key=only_attachments), 403)
            self.assertIn("read on 'res.partner'", problem["detail"])
            self.assertEqual(self.binary(*path, key=both).status_code, 200)
        # linked to nothing: no other scope
        self.assertEqual(
            self.binary("ir.attachment", self.note.id, "datas", key=only_attachments).status_code, 200
        )

    def test_reading_a_linked_attachment_needs_read_on_its_model(self):
        att, chatter, only_attachments = self.linked()
        both = self.scoped_key(ir_attachment="r", res_partner="r")
        for attachment in (att, chatter):
            for fields in ("datas", "raw", "db_datas", "name"):
                read = self.get(f"/api/ir.attachment/{attachment.id}", key=only_attachments,
                                params={"fields": fields})  # fmt: skip
                self.assertProblem(read, 403)
            ok = self.get(f"/api/ir.attachment/{attachment.id}", key=both, params={"fields": "datas"})
            self.assertEqual(ok.status_code, 200, ok.text[:300])
        self.assertEqual(
            self.get(f"/api/ir.attachment/{self.note.id}", key=only_attachments).status_code, 200
        )

    def test_a_search_of_attachments_leaves_out_those_of_models_the_key_cannot_read(self):
        att, chatter, only_attachments = self.linked()
        domain = f'[["id", "in", [{att.id}, {chatter.id}, {self.note.id}]]]'
        found = self.get("/api/ir.attachment/search", key=only_attachments,
                         params={"domain": domain, "fields": "datas"})  # fmt: skip
        self.assertEqual(found.status_code, 200, found.text[:300])
        self.assertEqual([row["id"] for row in found.json()], [self.note.id])
        self.assertEqual(found.headers["X-Total-Count"], "1")
        count = self.get("/api/ir.attachment/record_count", key=only_attachments, params={"domain": domain})
        self.assertEqual(count.json()["record_count"], 1)
        both = self.scoped_key(ir_attachment="r", res_partner="r")
        found = self.get("/api/ir.attachment/search", key=both, params={"domain": domain, "fields": "name"})
        self.assertEqual(len(found.json()), 3)

    def test_execute_kw_reads_a_linked_attachment_within_the_scopes(self):
        _att, chatter, only_attachments = self.linked()
        secret = base64.b64encode(b"secret of the partner").decode()
        for method, args, kwargs in (("read", [[chatter.id], ["datas"]], {}),
                                     ("search_read", [[["id", "=", chatter.id]]], {"fields": ["datas"]})):  # fmt: skip
            response = self.call("POST", "/api/ir.attachment/execute_kw", key=only_attachments,
                                 body={"method": method, "args": args, "kwargs": kwargs})  # fmt: skip
            self.assertProblem(response, 403)
            self.assertNotIn(secret, response.text)
        both = self.scoped_key(ir_attachment="r", res_partner="r")
        response = self.call("POST", "/api/ir.attachment/execute_kw", key=both,
                             body={"method": "read", "args": [[chatter.id], ["datas"]]})  # fmt: skip
        self.assertEqual(response.json()[0]["datas"], secret)

    def test_writing_or_deleting_a_linked_attachment_needs_write_on_its_model(self):
        att, chatter, only_attachments = self.linked()
        self.assertProblem(self.put("ir.attachment", chatter.id, "datas", b"new", key=only_attachments), 403)
        self.assertProblem(
            self.put("ir.attachment", att.id, "datas", b"<html>x</html>", key=only_attachments), 403
        )
        update = self.call("PUT", f"/api/ir.attachment/{chatter.id}", key=only_attachments,
                           body={"datas": base64.b64encode(b"new").decode()})  # fmt: skip
        self.assertProblem(update, 403)
        self.assertProblem(self.call("DELETE", f"/api/ir.attachment/{chatter.id}", key=only_attachments), 403)
        self.assertEqual(chatter.raw, b"secret of the partner")
        writer = self.scoped_key(ir_attachment="rw", res_partner="w")
        self.assertEqual(self.put("ir.attachment", chatter.id, "datas", b"new", key=writer).status_code, 200)
        self.assertEqual(chatter.raw, b"new")

    def test_execute_kw_writes_a_linked_attachment_within_the_scopes(self):
        _att, chatter, only_attachments = self.linked()
        for method, args in (
            ("write", [[chatter.id], {"name": "x"}]),
            ("generate_access_token", [[chatter.id]]),
        ):
            response = self.call("POST", "/api/ir.attachment/execute_kw", key=only_attachments,
                                 body={"method": method, "args": args})  # fmt: skip
            self.assertProblem(response, 403)
        self.assertEqual((chatter.name, chatter.access_token), ("chatter.txt", False))

    def test_attaching_to_a_record_needs_write_on_its_model(self):
        _att, _chatter, only_attachments = self.linked()
        create = self.call("POST", "/api/ir.attachment/create", key=only_attachments,
                           body={"name": "n.txt", "datas": "eA==", "res_model": "res.partner", "res_id": self.partner.id})  # fmt: skip
        self.assertProblem(create, 403)
        move = self.call("PUT", f"/api/ir.attachment/{self.note.id}", key=only_attachments,
                         body={"res_model": "res.partner", "res_id": self.partner.id})  # fmt: skip
        self.assertProblem(move, 403)
        self.assertFalse(self.note.res_model)

    def test_the_attachment_of_an_image_field_takes_images_only(self):
        att = self.image_attachment(self.partner)
        png = base64.b64decode(self.partner.image_128)
        html = b"<html><body>not an image</body></html>"
        problem = self.assertProblem(self.put("ir.attachment", att.id, "datas", html, "text/html"), 400)
        self.assertIn("image", problem["detail"])
        update = self.call(
            "PUT", f"/api/ir.attachment/{att.id}", body={"datas": base64.b64encode(html).decode()}
        )
        self.assertProblem(update, 400)
        retyped = self.call("PUT", f"/api/ir.attachment/{att.id}", body={"mimetype": "text/html"})
        self.assertProblem(retyped, 400)
        # moving a text attachment into an image field
        move = self.call("PUT", f"/api/ir.attachment/{self.note.id}", body={
            "res_model": "res.partner", "res_id": self.empty.id, "res_field": "image_128"})  # fmt: skip
        self.assertProblem(move, 400)
        served = self.binary("res.partner", self.partner.id, "image_128")
        self.assertEqual((served.content, served.headers["Content-Type"]), (png, "image/png"))
        self.assertEqual(self.put("ir.attachment", att.id, "datas", GIF, "image/gif").status_code, 200)

    # ------------------------------------------------------------ Range, empty images, raw bytes, names
    def test_ranges_follow_rfc_9110(self):
        path = ("ir.attachment", self.note.id, "datas")
        whole = b"0123456789abcdefghij"
        for asked in ("bytes=0-1,5-6", "items=0-1", "bytes=5-3", "bytes=x-"):
            response = self.binary(*path, headers={"Range": asked})
            self.assertEqual((response.status_code, response.content), (200, whole), asked)
        for asked in ("bytes=-0", "bytes=20-"):
            response = self.assertProblem(self.binary(*path, headers={"Range": asked}), 416)
        longer = self.binary(*path, headers={"Range": "bytes=-25"})  # longer than the file: all of it
        self.assertEqual((longer.status_code, longer.content), (206, whole))
        self.assertEqual(longer.headers["Content-Range"], "bytes 0-19/20")

    def test_an_emptied_image_says_it_is_empty(self):
        self.assertEqual(self.put("res.partner", self.partner.id, "image_1920", b"").status_code, 200)
        for field in ("image_1920", "image_128"):
            problem = self.assertProblem(self.binary("res.partner", self.partner.id, field), 404)
            self.assertIn("is empty", problem["detail"])

    def test_a_field_of_raw_bytes_is_not_a_file(self):
        kept = self.env["rest.api.idempotency"].sudo().search([], limit=1)
        record_id = kept.id or 1
        problem = self.assertProblem(self.binary("rest.api.idempotency", record_id, "body"), 404)
        self.assertIn("raw bytes", problem["detail"])
        self.assertProblem(self.put("rest.api.idempotency", record_id, "body", b"x"), 404)

    def test_a_name_with_no_ascii_letter_falls_back_to_download(self):
        att = self.env["ir.attachment"].create(
            {"name": "отчёт.pdf", "raw": b"%PDF-1.4 x", "mimetype": "application/pdf"}
        )
        response = self.binary("ir.attachment", att.id, "datas")
        self.assertTrue(
            response.headers["Content-Disposition"].startswith('inline; filename="download.pdf"; filename*='),
            response.headers["Content-Disposition"],
        )

    def test_attaching_to_an_attachment_needs_write_on_it(self):
        user = new_test_user(self.env, login="files_attach", groups="base.group_user")
        other = self.env["ir.attachment"].create(
            {"name": "admin.txt", "raw": b"admin's"}
        )  # admin's, unlinked
        key = self.make_key(user)
        self.assertProblem(self.upload(other, ("file", "x.txt", b"x", "text/plain"), key=key), 403)
        self.assertFalse(
            self.env["ir.attachment"].search([("res_model", "=", "ir.attachment"), ("res_id", "=", other.id)])
        )

    def test_a_nested_read_that_shows_a_linked_attachment_needs_read_on_its_model(self):
        _att, chatter, _key = self.linked()
        country = self.env.ref("base.be")
        self.assertEqual(self.get(f"/api/res.country/{country.id}").status_code, 200)  # its fields known
        self.env["ir.model.fields"].create({
            "name": "x_rest_file_id", "model_id": self.env["ir.model"]._get_id("res.country"),
            "ttype": "many2one", "relation": "ir.attachment", "field_description": "File",
        })  # fmt: skip
        # the worker knows the new field at once (infra.field_meta: the model was set up again)
        country.x_rest_file_id = chatter
        key = self.scoped_key(res_country="r", ir_attachment="r")  # not res.partner
        for path in (f"/api/res.country/{country.id}", "/api/res.country/search"):
            params = {"fields": "name,x_rest_file_id{name,datas}", "domain": f'[["id", "=", {country.id}]]'}
            response = self.get(path, key=key, params=params)
            problem = self.assertProblem(response, 403)
            self.assertIn("read on 'res.partner'", problem["detail"])
            self.assertNotIn(base64.b64encode(b"secret of the partner").decode(), response.text)
        both = self.scoped_key(res_country="r", ir_attachment="r", res_partner="r")
        response = self.get(
            f"/api/res.country/{country.id}", key=both, params={"fields": "x_rest_file_id{name}"}
        )
        self.assertEqual(response.json()["x_rest_file_id"]["name"], "chatter.txt")
