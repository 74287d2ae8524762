"""The documentation routes against the live prefork server, with the real
outside clients: openapi-spec-validator, newman, schemathesis, Chromium.

A missing client is a failure, never a skip: tools/run_tests.py and .ci/run
install them (REST_API_NEWMAN, REST_API_CHROMIUM say where they are).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest
import requests
from conftest import URL
from openapi_spec_validator import validate

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REPORTS = os.path.join(ROOT, ".reports")
NEWMAN = os.environ.get("REST_API_NEWMAN") or os.path.join(
    ROOT, "tools", "node", "node_modules", ".bin", "newman"
)
CHROMIUM = os.environ.get("REST_API_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
SCHEMATHESIS = shutil.which("schemathesis", path=os.path.dirname(sys.executable)) or shutil.which(
    "schemathesis"
)


EVERY = dict.fromkeys(("perm_read", "perm_create", "perm_write", "perm_delete", "perm_execute"), True)


@pytest.fixture(scope="module")
def scoped_key(admin, make_key):
    def make(model, **perms):
        def scope(model, **perms):
            model_id = admin("ir.model", "search", [("model", "=", model)])[0]
            return (0, 0, {"model_id": model_id, **perms})

        return make_key(
            all_models=False, scope_ids=[scope(model, **perms), scope("res.country", perm_read=True)]
        )

    return make


@pytest.fixture(scope="module")
def partner_key(scoped_key):
    """A key reaching partners (every operation) and countries (read)."""
    return scoped_key("res.partner", **EVERY)


def _report(*parts):
    path = os.path.join(REPORTS, *parts)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


def test_live_documents_validate(partner_key):
    for headers in ({}, {"api-key": partner_key["key"]}):
        response = requests.get(URL + "/api/openapi.json", headers=headers, timeout=60)
        assert response.status_code == 200, response.text[:300]
        validate(response.json())
    schemas = response.json()["components"]["schemas"]
    assert {"res.partner", "res.country"} <= set(schemas) and "res.users" not in schemas


def test_a_read_only_keys_document_lists_only_reads(scoped_key):
    key = scoped_key("res.partner", perm_read=True)
    doc = requests.get(URL + "/api/openapi.json", headers={"api-key": key["key"]}, timeout=60).json()
    methods = {
        (path, method) for path, item in doc["paths"].items() for method in item if method != "parameters"
    }
    assert ("/api/res.partner/{id}", "get") in methods and ("/api/{model}/search", "get") in methods
    writes = {(path, method) for path, method in methods if method in ("put", "patch", "delete")}
    creates = {path for path, method in methods if path.endswith("/create")}
    # only the webhook subscriptions (the key's own, not a model's) may be changed
    assert all(path.startswith("/api/webhooks") for path, _method in writes) and not creates, writes | creates
    postman = requests.get(URL + "/api/postman.json", headers={"api-key": key["key"]}, timeout=60).json()
    folder = next(f for f in postman["item"] if f["name"] == "res.partner")
    assert {item["request"]["method"] for item in folder["item"]} <= {"GET", "POST"}  # POST: execute_kw


def test_newman_runs_the_whole_collection(partner_key, admin):
    assert os.path.exists(NEWMAN), f"newman not found at {NEWMAN}: run `npm ci --prefix tools/node`"
    response = requests.get(URL + "/api/postman.json", headers={"api-key": partner_key["key"]}, timeout=60)
    collection = _report("newman", "collection.json")
    with open(collection, "w") as handle:
        json.dump(response.json(), handle)
    out = _report("newman", "run.json")
    command = [NEWMAN, "run", collection, "--env-var", f"baseUrl={URL}", "--env-var", f"apiKey={partner_key['key']}",
               "--env-var", "login=admin", "--env-var", f"password={admin.password}", "--reporters", "cli,json",
               "--reporter-json-export", out, "--timeout-request", "30000"]  # fmt: skip
    proc = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    with open(out) as handle:
        stats = json.load(handle)["run"]["stats"]
    # authentication (4) + batch (1) + countries (8: the change feed among its reads, and execute_kw;
    # their read by external id is a 404: the key may not create one) + partners (15: the change feed
    # (200, or 409 while untracked), an image field downloaded (200, or 404 when empty) and a GIF
    # uploaded to the created one, the upsert by external id, then its read) + webhooks (1: the key's
    # subscriptions); nothing skipped, all checks pass
    assert stats["requests"]["total"] == 29, stats
    assert stats["assertions"]["failed"] == 0, stats


def test_schemathesis_finds_no_error_and_no_answer_against_the_spec(scoped_key):
    assert SCHEMATHESIS, "schemathesis is not installed (requirements-test.txt)"
    # Every operation on partner tags (writes to random ids must not touch records other tests use)
    key = scoped_key("res.partner.category", **EVERY)
    spec = _report("schemathesis", "openapi.json")
    response = requests.get(URL + "/api/openapi.json", headers={"api-key": key["key"]}, timeout=60)
    with open(spec, "w") as handle:
        json.dump(response.json(), handle)
    # Every check that compares answers with the document. Not positive_data_acceptance: a
    # domain or an order is a string whose grammar JSON Schema cannot spell, so a
    # schema-valid string may still be a bad domain (400, documented).
    # One worker: CPython 3.11 < 3.11.8 can raise "AST constructor recursion depth mismatch"
    # when Hypothesis parses lambdas in two threads at once (gh-106905).
    command = [SCHEMATHESIS, "run", spec, "--url", URL + "/", "-H", f"api-key: {key['key']}",
               "--checks", "all", "--exclude-checks", "positive_data_acceptance", "--max-examples", "8",
               "--seed", "20261122", "--phases", "examples,coverage,fuzzing", "--request-timeout", "30",
               "--workers", "1", "--report", "junit",
               "--report-dir", os.path.dirname(spec)]  # fmt: skip
    # run in the report folder: schemathesis keeps a replay cache of past failures in its cwd
    proc = subprocess.run(command, capture_output=True, text=True, timeout=850, cwd=os.path.dirname(spec))
    with open(_report("schemathesis", "output.txt"), "w") as handle:
        handle.write(proc.stdout + proc.stderr)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]


def _chromium(*args):
    profile = tempfile.mkdtemp(prefix="chromium-")
    command = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--hide-scrollbars", f"--user-data-dir={profile}", "--virtual-time-budget=20000",
               "--window-size=1400,2000", *args]  # fmt: skip
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=120)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def test_swagger_ui_renders_the_operations_in_headless_chromium():
    assert os.path.exists(CHROMIUM), f"Chromium not found at {CHROMIUM}"
    dom = _chromium("--dump-dom", URL + "/api/docs").stdout
    assert 'class="swagger-ui"' in dom, dom[-2000:]
    assert dom.count("opblock-summary-path") >= 14, "Swagger UI rendered too few operations"
    assert "/api/{model}/search" in dom and "Authorize" in dom
    png = _report("screenshots", "swagger-ui.png")
    if os.path.exists(png):
        os.remove(png)
    _chromium(f"--screenshot={png}", URL + "/api/docs")
    assert os.path.exists(png) and os.path.getsize(png) > 20_000, "no useful screenshot"
