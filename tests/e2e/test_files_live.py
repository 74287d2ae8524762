"""Files and reports against a live prefork server (API.md section 11): curl's Range
requests, a real PDF read back by pdftotext, a 50 MB round trip that leaves the
serving worker's memory flat, and a body over the limit refused on its headers."""

import base64
import contextlib
import hashlib
import io
import json
import logging
import os
import shutil
import socket
import subprocess
import time
from urllib.parse import urlsplit

import psutil
import pytest
import requests
from conftest import URL, assert_problem, parse_raw, scoped, uniq

_logger = logging.getLogger(__name__)
MIB = 1024 * 1024
GROWTH_LIMIT = 20 * MIB
RANGE_DATA = b"0123456789abcdefghij"
REPORT = "base.report_irmodulereference"


@pytest.fixture(scope="module")
def key(make_key):
    return make_key()["key"]


@pytest.fixture
def attachment(admin):
    """A new attachment of 20 known bytes (deleted afterwards)."""
    att = admin("ir.attachment", "create", {"name": uniq("e2e-range") + ".txt",
                                            "datas": base64.b64encode(RANGE_DATA).decode()})  # fmt: skip
    yield att
    with contextlib.suppress(Exception):
        admin("ir.attachment", "unlink", [att])


@contextlib.contextmanager
def body_limit(admin, size):
    old = admin("ir.config_parameter", "get_param", "rest_api.max_body_size")
    admin("ir.config_parameter", "set_param", "rest_api.max_body_size", str(size))
    try:
        yield size
    finally:
        admin("ir.config_parameter", "set_param", "rest_api.max_body_size", old or str(10 * MIB))


def binary_url(model, rec_id, field):
    return f"{URL}/api/{model}/{rec_id}/binary/{field}"


# ------------------------------------------------------------------ Range, with curl
def curl(url, key, *args):
    """(status, headers lower-cased, body) of curl's answer."""
    assert shutil.which("curl"), "curl is missing"
    done = subprocess.run(["curl", "-s", "-D", "-", "-H", f"api-key: {key}", *args, url],
                          capture_output=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return parse_raw(done.stdout)


def test_ranges_with_curl(key, attachment):
    url = binary_url("ir.attachment", attachment, "datas")
    status, headers, body = curl(url, key)
    assert (status, body, headers["content-length"]) == (200, RANGE_DATA, "20")
    assert headers["accept-ranges"] == "bytes"
    for asked, part, sent in (("0-3", b"0123", "bytes 0-3/20"), ("16-19", b"ghij", "bytes 16-19/20"),
                              ("-4", b"ghij", "bytes 16-19/20"), ("10-", b"abcdefghij", "bytes 10-19/20")):  # fmt: skip
        status, headers, body = curl(url, key, "-r", asked)
        assert (status, body, headers["content-range"]) == (206, part, sent), asked
    status, headers, body = curl(url, key, "-r", "100-200")
    assert status == 416 and headers["content-range"] == "bytes */20"
    assert headers["content-type"].startswith("application/problem+json")
    assert json.loads(body)["status"] == 416


def test_etag_with_curl(key, attachment):
    url = binary_url("ir.attachment", attachment, "datas")
    status, headers, _body = curl(url, key)
    assert headers["etag"] == '"%s"' % hashlib.sha1(RANGE_DATA).hexdigest()
    assert headers["cache-control"] == "private, no-cache"
    status, _headers, body = curl(url, key, "-H", f"If-None-Match: {headers['etag']}")
    assert (status, body) == (304, b"")


# ------------------------------------------------------------------ a real report
def test_a_real_pdf_report_holds_the_records_name(key, admin):
    pdftotext = shutil.which("pdftotext")
    assert pdftotext, "pdftotext is missing: install Debian's poppler-utils (tools/setup.sh does)"
    (module,) = admin(
        "ir.module.module", "search_read", [("name", "=", "base")], fields=["name", "shortdesc"]
    )
    response = requests.get(f"{URL}/api/ir.module.module/{module['id']}/report/{REPORT}",
                            headers={"api-key": key}, timeout=180)  # fmt: skip
    assert response.status_code == 200, response.text[:300]
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.content[:4] == b"%PDF"
    assert response.headers["Content-Disposition"] == 'inline; filename="Technical guide.pdf"'
    text = subprocess.run(
        [pdftotext, "-", "-"], input=response.content, capture_output=True, timeout=60, check=True
    )
    words = text.stdout.decode().split()
    assert module["name"] in words and module["shortdesc"] in words, words[:40]


def test_reports_of_several_records_and_their_html(key, admin):
    rows = admin("ir.module.module", "search_read", [("name", "in", ["base", "web"])], fields=["shortdesc"])
    ids = ",".join(str(row["id"]) for row in rows)
    response = requests.get(f"{URL}/api/ir.module.module/report/{REPORT}", params={"ids": ids, "format": "html"},
                            headers={"api-key": key}, timeout=180)  # fmt: skip
    assert response.status_code == 200, response.text[:300]
    assert all(row["shortdesc"] in response.text for row in rows)


# ------------------------------------------------------------------ uploads
def test_uploads_raw_and_multipart_then_attachments(admin, make_key):
    partner = admin("res.partner", "create", {"name": uniq("e2e files")})
    try:
        secret, _ = scoped(admin, make_key, **{"res.partner": "rw", "ir.attachment": "rc"})
        headers = {"api-key": secret}
        gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
        url = binary_url("res.partner", partner, "image_1920")
        put = requests.put(url, data=gif, headers={**headers, "Content-Type": "image/gif"}, timeout=30)
        assert put.status_code == 200 and put.json()["size"] == len(gif), put.text
        got = requests.get(url, headers=headers, timeout=30)
        assert (got.content, got.headers["Content-Type"]) == (gif, "image/gif")
        text = requests.put(
            url, files={"file": ("a.txt", b"hello", "text/plain")}, headers=headers, timeout=30
        )
        assert_problem(text, 400)
        files = [
            ("file", ("one.txt", b"one", "text/plain")),
            ("file", ("deux été.bin", os.urandom(3000), None)),
        ]
        posted = requests.post(f"{URL}/api/res.partner/{partner}/attachments", files=files, headers=headers,
                               timeout=30)  # fmt: skip
        assert posted.status_code == 201, posted.text
        ids = posted.json()["ids"]
        for att_id, (_name, (filename, data, _type)) in zip(ids, files, strict=True):
            down = requests.get(binary_url("ir.attachment", att_id, "datas"), headers=headers, timeout=30)
            assert down.content == data
            assert filename.split()[0] in down.headers["Content-Disposition"]
        rows = requests.get(f"{URL}/api/ir.attachment/search", headers=headers, timeout=30,
                            params={"domain": json.dumps([["id", "in", ids]]), "fields": "res_model,res_id"})  # fmt: skip
        assert {(r["res_model"], r["res_id"]) for r in rows.json()} == {("res.partner", partner)}
        reader, _ = scoped(admin, make_key, **{"res.partner": "r"})
        assert_problem(requests.put(url, data=gif, headers={"api-key": reader}, timeout=30), 403)
    finally:
        admin("res.partner", "unlink", [partner])


# ------------------------------------------------------------------ the body limit
def _host_port():
    parts = urlsplit(URL)
    return parts.hostname, parts.port


def test_a_body_over_the_limit_is_refused_on_its_headers(key, attachment, admin):
    host, port = _host_port()
    with body_limit(admin, 1 * MIB) as limit:
        head = (f"PUT /api/ir.attachment/{attachment}/binary/datas HTTP/1.1\r\nHost: {host}:{port}\r\n"
                f"api-key: {key}\r\nContent-Type: application/octet-stream\r\n"
                f"Content-Length: {limit + 1}\r\nConnection: close\r\n\r\n")  # fmt: skip
        with socket.create_connection((host, port), timeout=20) as sock:
            sock.sendall(head.encode())  # not a byte of the body: a server waiting for it would time out
            chunks = []
            with contextlib.suppress(ConnectionResetError):
                while chunk := sock.recv(65536):
                    chunks.append(chunk)
        status, headers, body = parse_raw(b"".join(chunks))
    assert status == 413, body[:300]
    assert headers["content-type"].startswith("application/problem+json")
    assert json.loads(body)["status"] == 413
    content = requests.get(
        binary_url("ir.attachment", attachment, "datas"), headers={"api-key": key}, timeout=30
    )
    assert content.content == RANGE_DATA


# ------------------------------------------------------------------ memory stays flat
def _master(process):
    """The prefork master of an Odoo server process."""
    parent = process.parent()
    return parent if parent is not None and "odoo-bin" in " ".join(parent.cmdline()) else process


def _workers(master):
    """Its HTTP workers (its children but the gevent one)."""
    return [p for p in master.children() if "gevent" not in p.cmdline()]


def _peak(process, reset=False):
    """The process's peak resident memory (VmHWM, bytes); ``reset`` starts it afresh
    (``/proc/<pid>/clear_refs``: 5), where this user may."""
    if reset:
        with contextlib.suppress(OSError), open(f"/proc/{process.pid}/clear_refs", "w") as handle:
            handle.write("5")
    with open(f"/proc/{process.pid}/status") as handle:
        line = next(line for line in handle if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def _serving_worker(sock, deadline=10.0):
    """The HTTP worker at the other end of ``sock``, found in /proc by psutil: the one
    process among the workers that holds the accepted connection."""
    mine = sock.getsockname()[1]
    _host, port = _host_port()
    listening = [c.pid for c in psutil.net_connections(kind="tcp") if c.pid and c.laddr.port == port]
    assert listening, f"no process listens on port {port}"
    master = _master(psutil.Process(listening[0]))
    stop = time.monotonic() + deadline
    while time.monotonic() < stop:
        for worker in _workers(master):
            connections = getattr(worker, "net_connections", None) or worker.connections  # psutil < 6
            if any(c.raddr and c.raddr.port == mine for c in connections(kind="tcp")):
                return worker
        time.sleep(0.05)
    raise AssertionError("no worker holds this connection")


def _exchange(head, body_pieces, record):
    """Send ``head``, note the serving worker (``record(process)``, unless None) before any
    byte of the body, then the body; the raw answer. (A download's worker is found while
    it waits for this end to read: a large answer fills the socket's buffers.)"""
    host, port = _host_port()
    with socket.create_connection((host, port), timeout=300) as sock:
        sock.sendall(head)
        if record is not None:
            record(_serving_worker(sock))
        for piece in body_pieces:
            sock.sendall(piece)
        chunks = []
        while chunk := sock.recv(1 << 20):
            chunks.append(chunk)
    return b"".join(chunks)


def test_a_50_mb_round_trip_leaves_the_worker_flat(key, attachment, admin):
    data = os.urandom(50 * MIB)
    digest = hashlib.sha256(data).hexdigest()
    host, port = _host_port()
    url = f"/api/ir.attachment/{attachment}/binary/raw"

    def upload(payload, record):
        head = (f"PUT {url} HTTP/1.1\r\nHost: {host}:{port}\r\napi-key: {key}\r\n"
                f"Content-Type: application/octet-stream\r\nContent-Length: {len(payload)}\r\n"
                "Connection: close\r\n\r\n").encode()  # fmt: skip
        view = memoryview(payload)
        answer = _exchange(head, (view[i : i + MIB] for i in range(0, len(payload), MIB)), record)
        status, _headers, body = parse_raw(answer)
        assert status == 200, body[:300]

    def download(record):
        head = f"GET {url} HTTP/1.1\r\nHost: {host}:{port}\r\napi-key: {key}\r\nConnection: close\r\n\r\n"
        status, headers, body = parse_raw(_exchange(head.encode(), (), record))
        assert status == 200, body[:300]
        return headers, body

    with body_limit(admin, 64 * MIB):
        # warm both workers up with the same calls on a small file: what a first call loads is not growth
        for _ in range(3):
            upload(os.urandom(MIB), None)
            download(None)
        workers = {}
        upload(b"x", lambda process: workers.setdefault("any", process))
        before = {p.pid: p.memory_info().rss for p in _workers(_master(workers["any"]))}
        served, peaks = {}, {}

        def note(step):
            def record(process):
                served[step] = process
                _peak(process, reset=True)

            return record

        upload(data, note("upload"))
        peaks["upload"] = _peak(served["upload"])
        headers, body = download(note("download"))
        peaks["download"] = _peak(served["download"])
    assert headers["content-length"] == str(len(data))
    assert hashlib.sha256(body).hexdigest() == digest, "the bytes came back changed"
    del body
    for step, process in served.items():
        growth = process.memory_info().rss - before[process.pid]
        _logger.info(f"{step}: worker {process.pid} RSS {before[process.pid] / MIB:.1f} -> "
              f"{process.memory_info().rss / MIB:.1f} MiB, peak {peaks[step] / MIB:.1f} MiB")  # fmt: skip
        assert growth <= GROWTH_LIMIT, f"the {step} worker grew by {growth / MIB:.1f} MiB"


# ------------------------------------------------------------------ the Postman examples run
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NEWMAN = os.environ.get("REST_API_NEWMAN") or os.path.join(
    ROOT, "tools", "node", "node_modules", ".bin", "newman"
)
FILE_ROUTES = ("Download a binary field", "Upload a binary field", "Attach files to a record",
               "Print a report of a record", "Print a report of several records")  # fmt: skip


def test_newman_runs_the_file_examples(admin, make_key):
    """A key reaching partners, attachments and modules (their report): every file and
    report example of its collection runs and passes its checks."""
    assert os.path.exists(NEWMAN), f"newman not found at {NEWMAN}: run `npm ci --prefix tools/node`"
    secret, _ = scoped(
        admin, make_key, **{"res.partner": "rcwd", "ir.attachment": "rc", "ir.module.module": "r"}
    )
    collection = requests.get(f"{URL}/api/postman.json", headers={"api-key": secret}, timeout=120).json()
    folders = {folder["name"]: folder for folder in collection["item"]}
    # only the folders of the models the examples touch, in the collection's order
    collection["item"] = [folders[name] for name in ("res.partner", "ir.module.module")]
    reports = os.path.join(ROOT, ".reports", "newman-files")
    os.makedirs(reports, exist_ok=True)
    path, out = os.path.join(reports, "collection.json"), os.path.join(reports, "run.json")
    with open(path, "w") as handle:
        json.dump(collection, handle)
    proc = subprocess.run([NEWMAN, "run", path, "--env-var", f"baseUrl={URL}", "--env-var", f"apiKey={secret}",
                           "--reporters", "cli,json", "--reporter-json-export", out, "--timeout-request", "120000"],
                          capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    with open(out) as handle:
        executions = json.load(handle)["run"]["executions"]
    ran = {}
    for execution in executions:
        name = execution["item"]["name"]
        if name.startswith(FILE_ROUTES):
            ran[name] = execution["response"]["code"]
    assert {name.split(" (")[0] for name in ran} == set(FILE_ROUTES), ran
    expected = {"Upload": 200, "Attach": 201, "Print": 200}
    for name, code in ran.items():
        # a download is 404 when the first record found has nothing in the field
        allowed = (200, 404) if name.startswith("Download") else (expected[name.split()[0]],)
        assert code in allowed, ran


# ------------------------------------------------------------------ Swagger UI, in Chromium
SWAGGER_SCREENSHOT = os.path.join(ROOT, ".reports", "swagger-files.png")


def _opblock(method, path):
    return (
        "[...document.querySelectorAll('.opblock-' + " + json.dumps(method) + ")].find(o => "
        "o.querySelector('.opblock-summary-path') && o.querySelector('.opblock-summary-path')"
        f".innerText.replace(/\\u200b/g, '') === {json.dumps(path)})"
    )


def _choose(page, select_js, value):
    """Pick ``value`` in a <select> as React sees a person's choice."""
    page.evaluate(
        f"(() => {{ const s = {select_js}; s.value = {json.dumps(value)};"
        " s.dispatchEvent(new Event('change', {bubbles: true})); })()"
    )


def _set_file(page, input_js, path):
    """What a person's file chooser does: the file input holds ``path``."""
    found = page.send("Runtime.evaluate", expression=input_js, returnByValue=False)
    page.send("DOM.setFileInputFiles", files=[path], objectId=found["result"]["objectId"])


def _try_it_out(page, block, record_id, field):
    page.click(f"{block}.querySelector('.opblock-summary')")
    page.click(f"{block}.querySelector('.try-out__btn')")
    page.type_into(f"{block}.querySelector('tr[data-param-name=id] input')", str(record_id))
    _choose(page, f"{block}.querySelector('tr[data-param-name=field] select')", field)


def _executed(page, block):
    status = f"{block}.querySelector('.live-responses-table tbody .response-col_status')"
    page.click(f"{block}.querySelector('.execute')")
    page.wait_for(status, timeout=60)
    return page.evaluate(f"{status}.innerText").strip()


def _png(size=48):
    """A PNG of noise (bytes over 0x7f, CR and LF among them: what a text path would mangle)."""
    from PIL import Image

    image = Image.frombytes("RGB", (size, size), os.urandom(size * size * 3))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _pixels(png):
    from PIL import Image

    return Image.open(io.BytesIO(png)).convert("RGB").tobytes()


@pytest.mark.skipif(not shutil.which("chromium") and not os.environ.get("CHROMIUM_BIN"), reason="no Chromium")
def test_swagger_ui_uploads_a_file_and_downloads_it(admin, key, tmp_path):
    """A person in Swagger UI (Chromium): Authorize with an API key, Try it out on
    ``PUT .../binary/{field}`` choosing a PNG in its file input, then on ``GET`` of the
    same field: Swagger UI shows the image, whose bytes are the file's."""
    from cdp import Browser
    from test_oauth_live import WebUser, _login_in_browser  # Odoo's login page, as a person fills it

    content = _png()
    upload = tmp_path / "from-swagger.png"
    upload.write_bytes(content)
    att = admin(
        "ir.attachment", "create", {"name": "swagger-e2e.png", "datas": base64.b64encode(b"old").decode()}
    )
    # an admin's login in a browser sets web.base.url to this server, which changes how wkhtmltopdf
    # renders later reports (it then loads the web fonts, drawn as shapes): put it back afterwards
    base_url = admin("ir.config_parameter", "get_param", "web.base.url")
    browser = Browser()
    page = browser.page
    try:
        page.goto(URL + "/web/login")  # the document is a session's (the key authorizes the calls)
        _login_in_browser(page, WebUser(os.environ.get("REST_API_ADMIN_LOGIN", "admin"),
                                        os.environ.get("REST_API_ADMIN_PASSWORD", "admin")))  # fmt: skip
        page.wait_for("location.pathname.startsWith('/odoo')", timeout=60)
        page.goto(URL + "/api/docs?models=ir.attachment")
        page.wait_for("document.querySelector('.swagger-ui .opblock')", timeout=60)
        # Authorize: the API key
        page.click("document.querySelector('.swagger-ui .auth-wrapper .authorize')")
        box = "[...document.querySelectorAll('.modal-ux .auth-container')].find(b => /api-key/i.test(b.innerText))"
        page.type_into(f"{box}.querySelector('input')", key)
        page.click(f"{box}.querySelector('button.authorize')")
        page.wait_for(f"/logout/i.test({box}.innerText)")
        page.click("document.querySelector('.modal-ux .close-modal')")
        # PUT: the file chosen in the body's file input
        put = _opblock("put", "/api/ir.attachment/{id}/binary/{field}")
        _try_it_out(page, put, att, "datas")
        _choose(
            page, f"{put}.querySelector('.opblock-section-request-body select')", "application/octet-stream"
        )
        _set_file(page, f"{put}.querySelector('.opblock-section-request-body input[type=file]')", str(upload))
        assert _executed(page, put).startswith("200"), page.evaluate(f"{put}.innerText")[-1500:]
        saved = admin("ir.attachment", "read", [att], ["datas", "mimetype"])[0]
        assert base64.b64decode(saved["datas"]) == content and saved["mimetype"] == "image/png"
        sent = [(u, h) for u, h in browser.requests() if f"/api/ir.attachment/{att}/binary/datas" in u]
        assert sent and sent[-1][1].get("api-key") == key, sent
        # GET: Swagger UI shows the image it downloaded
        get = _opblock("get", "/api/ir.attachment/{id}/binary/{field}")
        _try_it_out(page, get, att, "datas")
        assert _executed(page, get).startswith("200")
        browser.pump()
        image = f"{get}.querySelector('.live-responses-table .response-col_description img')"
        page.wait_for(image)
        # the browser shows it: the page's CSP lets Swagger UI's blob: URL of the answer in
        page.wait_for(f"{image}.complete")
        assert page.evaluate(f"{image}.naturalWidth") == 48, page.evaluate(f"{image}.outerHTML")
        # and its pixels are the file's (PNG is lossless)
        pixels = page.evaluate(
            f"(() => {{ const i = {image}, c = document.createElement('canvas'); c.width = i.naturalWidth;"
            " c.height = i.naturalHeight; const x = c.getContext('2d'); x.drawImage(i, 0, 0);"
            " let s = ''; x.getImageData(0, 0, c.width, c.height).data.forEach(v => s += String.fromCharCode(v));"
            " return btoa(s); })()"
        )
        rgba = base64.b64decode(pixels)
        assert bytes(v for i, v in enumerate(rgba) if i % 4 != 3) == _pixels(content)
    finally:
        os.makedirs(os.path.dirname(SWAGGER_SCREENSHOT), exist_ok=True)
        page.screenshot(SWAGGER_SCREENSHOT)  # what Swagger UI showed last
        browser.close()
        admin("ir.config_parameter", "set_param", "web.base.url", base_url)
        with contextlib.suppress(Exception):
            admin("ir.attachment", "unlink", [att])
