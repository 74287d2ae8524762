"""lib/files.py, the file and report routes of the table and their documents (API.md section 11)."""

import base64
import io
import os

import pytest
from conftest import load_route_table
from openapi_spec_validator import validate

from lib import errors, files, multipart, openapi, openapi_files, postman, routes
from lib.fieldinfo import FieldInfo

TABLE = load_route_table()


# ------------------------------------------------------------------ Content-Disposition (RFC 6266)
def test_an_ascii_name_is_quoted_alone():
    assert files.content_disposition("invoice 7.pdf") == 'inline; filename="invoice 7.pdf"'
    assert files.content_disposition("a.pdf", "attachment") == 'attachment; filename="a.pdf"'


def test_a_name_that_is_not_ascii_has_a_fallback_and_the_exact_name():
    value = files.content_disposition("Façture été №5.pdf")
    assert value.startswith('inline; filename="Facture ete No5.pdf"; ')
    assert value.endswith("filename*=UTF-8''Fa%C3%A7ture%20%C3%A9t%C3%A9%20%E2%84%965.pdf")


def test_quotes_and_backslashes_do_not_break_the_header():
    value = files.content_disposition('say "hi"; x=1.txt')
    assert value.startswith('inline; filename="say _hi_; x=1.txt"')
    assert "filename*=UTF-8''say%20%22hi%22%3B%20x%3D1.txt" in value
    # a path is not a name: separators become _
    assert files.content_disposition("../../etc/passwd").startswith('inline; filename=".._.._etc_passwd"')


def test_control_characters_never_reach_the_header():
    value = files.content_disposition("evil\r\nSet-Cookie: x=1.txt")
    assert "\r" not in value and "\n" not in value
    assert files.content_disposition("") == "inline" and files.content_disposition(None) == "inline"
    assert (
        files.content_disposition("日本語")
        == "inline; filename=\"download\"; filename*=UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E"
    )


def test_long_names_are_cut():
    assert len(files.clean_name("x" * 1000)) == files.MAX_NAME


# ------------------------------------------------------------------ image uploads
@pytest.mark.parametrize(
    ("declared", "sniffed"),
    [("image/png", "image/png"), ("image/jpg", "image/jpeg"), ("", "image/gif"),
     ("application/octet-stream", "image/png"), ("IMAGE/PNG; charset=x", "image/png")],
)  # fmt: skip
def test_an_image_of_its_declared_type_is_taken(declared, sniffed):
    files.check_image(declared, sniffed)


def test_a_text_file_is_not_an_image():
    with pytest.raises(errors.BadRequest, match="not one"):
        files.check_image("text/plain", "text/plain")
    with pytest.raises(errors.BadRequest, match="not one"):
        files.check_image("image/png", "application/octet-stream")


def test_an_image_declared_as_another_type_is_refused():
    with pytest.raises(errors.BadRequest, match="declared as image/png but its content is image/jpeg"):
        files.check_image("image/png", "image/jpeg")


# ------------------------------------------------------------------ report parameters
def test_ids_in_order_without_repeats():
    assert files.parse_ids("3,1, 2,3", 10) == [3, 1, 2]


@pytest.mark.parametrize("value", [None, "", " ", "1,,2", "zzq", "-17", "0", "1.5", "99999999999", "١"])
def test_bad_ids_are_400_without_echo(value):
    with pytest.raises(errors.BadRequest) as info:
        files.parse_ids(value, 10)
    assert "zzq" not in info.value.detail and "17" not in info.value.detail


def test_ids_are_capped():
    with pytest.raises(errors.BadRequest, match="At most 2"):
        files.parse_ids("1,2,3", 2)


def test_format_is_pdf_or_html():
    assert files.parse_format(None) == files.parse_format("") == "pdf"
    assert files.parse_format("html") == "html"
    with pytest.raises(errors.BadRequest):
        files.parse_format("docx")


def test_report_file_names_carry_the_extension_of_what_is_sent():
    assert files.report_file_name("INV/2024/0001", "pdf") == "INV_2024_0001.pdf"
    assert files.report_file_name("Quote.pdf", "pdf") == "Quote.pdf"
    assert files.report_file_name(None, "html") == "report.html"


def test_missing_names_the_first_id_without_a_record():
    files.missing("x.item", [1, 2], [2, 1])
    with pytest.raises(errors.NotFound, match="id 3"):
        files.missing("x.item", [1, 3, 4], [1])


# ------------------------------------------------------------------ base64, piece by piece
@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, 5, 299, 300, 301, 1000])
def test_base64_by_pieces_is_base64(size):
    data = os.urandom(size)
    assert files.encode_base64(io.BytesIO(data), piece=3 * 7) == base64.b64encode(data)
    assert files.decoded_size(base64.b64encode(data)) == size


class _Trickle(io.RawIOBase):
    """A stream that answers at most 5 bytes per read (a socket)."""

    def __init__(self, data):
        self._data = io.BytesIO(data)

    def read(self, size=-1):  # pylint: disable=method-required-super
        return self._data.read(min(5, size if size >= 0 else 5))


def test_base64_by_pieces_survives_short_reads():
    data = os.urandom(1001)
    assert files.encode_base64(_Trickle(data), piece=3 * 4) == base64.b64encode(data)
    with pytest.raises(ValueError):
        files.encode_base64(io.BytesIO(data), piece=10)


# ------------------------------------------------------------------ routes
def _resolve(method, path):
    route, params = routes.resolve(method, path, TABLE)
    return route.name, params


def test_the_file_routes_resolve():
    assert _resolve("GET", "/api/res.partner/7/binary/image_128") == (
        "binary_read", {"model": "res.partner", "id": 7, "field": "image_128"})  # fmt: skip
    assert _resolve("PUT", "/api/res.partner/7/binary/image_128")[0] == "binary_write"
    assert _resolve("POST", "/api/res.partner/7/attachments")[0] == "attachments"
    assert _resolve("GET", "/api/account.move/7/report/account.report_invoice") == (
        "report", {"model": "account.move", "id": 7, "report": "account.report_invoice"})  # fmt: skip
    assert _resolve("GET", "/api/account.move/report/account.account_invoices")[0] == "report_many"
    # the neighbours keep their meaning
    assert _resolve("GET", "/api/res.partner/xmlid/base.main_partner")[0] == "xmlid_read"
    assert _resolve("GET", "/api/res.partner/7")[0] == "read"


@pytest.mark.parametrize(
    "path",
    ["/api/res.partner/7/binary/Image", "/api/res.partner/7/binary/a-b", "/api/res.partner/0/binary/x",
     "/api/res.partner/7/report/../x", "/api/res.partner/7/report/.x"],
)  # fmt: skip
def test_malformed_file_paths_are_404(path):
    with pytest.raises(errors.NotFound):
        routes.resolve("GET", path, TABLE)


def test_the_file_routes_need_their_scopes():
    by_name = {route.name: route for route in TABLE}
    assert by_name["binary_read"].operation == "read"
    assert by_name["binary_write"].operation == "write"
    assert by_name["attachments"].operation == "write"
    assert by_name["report"].operation == by_name["report_many"].operation == "read"


# ------------------------------------------------------------------ documents
PARTNER = openapi.ModelDoc(
    name="res.partner",
    description="Contact",
    fields={
        "id": FieldInfo("id", "integer", readonly=True),
        "name": FieldInfo("name", "char"),
        "avatar_128": FieldInfo("avatar_128", "binary", readonly=True, store=False),
        "image_1920": FieldInfo("image_1920", "binary"),
    },
    reports=("base.report_partner",),
)
TAG = openapi.ModelDoc(
    name="res.partner.category",
    description="Tag",
    fields={"id": FieldInfo("id", "integer", readonly=True), "name": FieldInfo("name", "char")},
    attachable=False,
)


@pytest.fixture(scope="module")
def doc():
    document = openapi.build(TABLE, [PARTNER, TAG])
    validate(document)
    return document


def test_bytes_are_documented_as_binary(doc):
    put = doc["paths"]["/api/res.partner/{id}/binary/{field}"]["put"]["requestBody"]["content"]
    assert put["application/octet-stream"]["schema"] == {"type": "string", "format": "binary"}
    multipart = put["multipart/form-data"]
    assert multipart["schema"]["properties"]["file"]["format"] == "binary"
    assert multipart["encoding"] == {"file": {"contentType": "*/*"}}
    answer = doc["components"]["responses"]["file-200"]["content"]
    assert answer == {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
    many = doc["paths"]["/api/res.partner/{id}/attachments"]["post"]["requestBody"]["content"]
    assert many["multipart/form-data"]["schema"]["properties"]["file"]["items"]["format"] == "binary"
    report = doc["components"]["responses"]["report-200"]["content"]
    assert report["application/pdf"]["schema"]["format"] == "binary" and "text/html" in report


def test_a_model_lists_its_binary_fields_and_reports(doc):
    binary = doc["paths"]["/api/res.partner/{id}/binary/{field}"]
    field = next(p for p in binary["parameters"] if p.get("name") == "field")
    assert field["schema"]["enum"] == ["image_1920", "avatar_128"]  # writable first
    report = doc["paths"]["/api/res.partner/{id}/report/{report}"]
    assert next(p for p in report["parameters"] if p.get("name") == "report")["schema"]["enum"] == [
        "base.report_partner"
    ]


def test_file_routes_are_documented_only_where_they_apply(doc):
    tag_paths = [path for path in doc["paths"] if path.startswith("/api/res.partner.category/")]
    # no binary field, no report, no attachments for a caller that may not create them
    assert not [path for path in tag_paths if "binary" in path or "report" in path or "attachments" in path]
    no_attachments = openapi.build(TABLE, [openapi.ModelDoc(**{**PARTNER.__dict__, "attachable": False})])
    assert "/api/res.partner/{id}/attachments" not in no_attachments["paths"]
    assert "/api/{model}/{id}/attachments" not in no_attachments["paths"]
    read_only = openapi.build(
        TABLE, [openapi.ModelDoc(**{**PARTNER.__dict__, "operations": frozenset({"read"})})]
    )
    assert "put" not in read_only["paths"]["/api/res.partner/{id}/binary/{field}"]


def test_errors_of_files_are_documented(doc):
    get = doc["paths"]["/api/res.partner/{id}/binary/{field}"]["get"]["responses"]
    assert {"200", "206", "304", "404", "416"} <= set(get)
    assert "503" in doc["paths"]["/api/res.partner/{id}/report/{report}"]["get"]["responses"]


def test_postman_uploads_and_prints_with_bodies_that_run(doc):
    collection = postman.build(doc, base_url="http://odoo.example")
    folder = next(f for f in collection["item"] if f["name"] == "res.partner")
    by_url = {(i["request"]["method"], i["request"]["url"]["raw"]): i for i in folder["item"]}
    base = "{{baseUrl}}/api/res.partner/"
    assert ("GET", base + "{{res_partner_id}}/binary/image_1920") in by_url
    put = by_url[("PUT", base + "{{res_partner_created_id}}/binary/image_1920")]["request"]
    assert put["body"] == {"mode": "raw", "raw": openapi_files.TINY_GIF}
    assert {"key": "Content-Type", "value": "image/gif"} in put["header"]
    assert all(ord(ch) < 0x80 for ch in openapi_files.TINY_GIF)
    post = by_url[("POST", base + "{{res_partner_created_id}}/attachments")]["request"]
    assert post["body"]["raw"] == openapi_files.POSTMAN_MULTIPART
    assert post["header"][-1]["value"] == "multipart/form-data; boundary=" + openapi_files.POSTMAN_BOUNDARY
    assert ("GET", base + "{{res_partner_id}}/report/base.report_partner?format=html") in by_url
    assert ("GET", base + "report/base.report_partner?ids={{res_partner_id}}&format=html") in by_url


def test_the_postman_gif_is_an_image():
    pil = pytest.importorskip("PIL.Image")
    image = pil.open(io.BytesIO(openapi_files.TINY_GIF.encode("ascii")))
    image.load()
    assert image.size == (1, 1)


# ------------------------------------------------------------------ Range (RFC 9110 section 14)
@pytest.mark.parametrize(
    ("header", "verdict"),
    [
        (None, None),
        ("bytes=0-3", "bytes=0-3"),
        ("bytes=16-", "bytes=16-19"),
        ("bytes=-4", "bytes=16-19"),
        ("bytes=-25", "bytes=0-19"),  # longer than the content: all of it
        ("bytes=19-19", "bytes=19-19"),
        ("bytes=10-99", "bytes=10-19"),
        ("BYTES = 0-3", "bytes=0-3"),
        ("bytes=-0", files.UNSATISFIABLE),
        ("bytes=20-", files.UNSATISFIABLE),
        ("bytes=50-60", files.UNSATISFIABLE),
        ("bytes=0-1,5-6", files.IGNORED),  # several ranges: the whole content
        ("items=0-1", files.IGNORED),  # another unit
        ("bytes=5-3", files.IGNORED),  # invalid
        ("bytes=x-", files.IGNORED),
        ("bytes=-", files.IGNORED),
        ("bytes", files.IGNORED),
        ("bytes=\u0661-2", files.IGNORED),  # not ASCII digits
    ],
)
def test_range_requests(header, verdict):
    assert files.range_request(header, 20) == verdict


# ------------------------------------------------------------------ ASCII fallback of a name
def test_a_name_with_nothing_left_in_ascii_falls_back_to_download():
    assert files.content_disposition("отчёт.pdf").startswith('inline; filename="download.pdf"; filename*=')
    assert files.content_disposition("отчёт").startswith('inline; filename="download"; filename*=')
    assert files.content_disposition("«».txt").startswith('inline; filename="download.txt"; ')
    assert files.content_disposition("отчёт.пдф").startswith('inline; filename="download"; ')
    # something left: kept
    assert files.content_disposition("été 2.pdf").startswith('inline; filename="ete 2.pdf"; ')


# ------------------------------------------------------------------ multipart bodies (lib/multipart.py)
def _multipart(parts, boundary=b"b0undary", newline=b"\r\n"):
    out = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (
            f'; filename="{filename}"' if filename is not None else ""
        )
        out += b"--" + boundary + newline + f"Content-Disposition: {disposition}".encode() + newline
        out += newline + data + newline
    return out + b"--" + boundary + b"--" + newline


class _Pieces(io.BytesIO):
    """A body that arrives a few bytes at a time."""

    def __init__(self, data, sizes):
        super().__init__(data)
        self._sizes = iter(sizes)

    def read(self, size=-1):
        return super().read(next(self._sizes, 7))


def _read(parts):
    return [(p.name, p.filename, p.stream.read()) for p in parts]


@pytest.mark.parametrize("payload", [b"\r" + b"A" * 3_000_000, b"x\n" + b"A" * 3_000_000], ids=["cr", "lf"])
def test_a_file_part_is_bounded_only_by_the_body_whatever_its_line_breaks(payload):
    parts = multipart.parse(io.BytesIO(_multipart([("file", "a.bin", payload)])), "b0undary")
    assert _read(parts) == [("file", "a.bin", payload)]
    assert parts[0].stream._rolled  # on disk, not in memory


def test_parts_are_cut_right_wherever_the_pieces_end():
    import random

    rng = random.Random(7)
    for _ in range(200):
        parts = [
            ("f", f"{i}.bin", bytes(rng.choice(b"\r\n-b0undary x") for _ in range(rng.randint(0, 400))))
            for i in range(rng.randint(1, 4))
        ]
        if any(b"\r--b0undary" in d or b"\n--b0undary" in d for _n, _f, d in parts):
            continue  # a delimiter inside the data: not a valid body
        newline = rng.choice([b"\r\n", b"\n"])
        if newline == b"\n" and any(d.endswith(b"\r") for _n, _f, d in parts):
            continue  # data ending in CR before a bare LF delimiter reads as CRLF (werkzeug's leniency)
        body = _multipart(parts, newline=newline)
        found = multipart.parse(_Pieces(body, (rng.randint(1, 40) for _ in range(10_000))), "b0undary")
        assert _read(found) == parts


def test_a_delimiter_with_blanks_before_its_line_break():
    body = b'--b0undary\r\nContent-Disposition: form-data; name="f"; filename="a"\r\n\r\nabc\r\n--b0undary   \r\n'
    body += b'Content-Disposition: form-data; name="t"\r\n\r\nxyz\r\n--b0undary--  \r\n'
    found = multipart.parse(_Pieces(body, [40, 20, 3, 1, 1, 1, 1]), "b0undary")
    assert _read(found) == [("f", "a", b"abc"), ("t", None, b"xyz")]


def test_parts_and_text_parts_are_bounded():
    many = _multipart([("file", f"{i}.txt", b"x") for i in range(101)])
    with pytest.raises(errors.PayloadTooLarge, match="at most 100 parts"):
        multipart.parse(io.BytesIO(many), "b0undary")
    assert len(multipart.parse(io.BytesIO(_multipart([("f", "a", b"x")] * 100)), "b0undary")) == 100
    text = _multipart([("note", None, b"t" * (multipart.MAX_TEXT + 1))])
    with pytest.raises(errors.PayloadTooLarge, match="text part"):
        multipart.parse(io.BytesIO(text), "b0undary")
    headers = b'--b0undary\r\nContent-Disposition: form-data; name="f"\r\nX: ' + b"h" * (2 << 20)
    with pytest.raises(errors.PayloadTooLarge, match="headers"):
        multipart.parse(io.BytesIO(headers), "b0undary")


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"no boundary at all",
        b'--b0undary\r\nContent-Disposition: form-data; name="f"; filename="a"\r\n\r\ncut short',
        b"--b0undary\r\nX-No-Disposition: 1\r\n\r\nx\r\n--b0undary--\r\n",
    ],
)
def test_a_malformed_body_is_400(body):
    with pytest.raises(errors.BadRequest, match="malformed"):
        multipart.parse(io.BytesIO(body), "b0undary")
