"""The Postman Collection v2.1 of the API (API.md section 5), made from the OpenAPI document.

Every operation of the document that carries an ``x-postman`` extension
becomes a request: the routes' ``Example`` (``Route.postman``) puts it
there, on the operations a caller may use (per model) and on the routes
that name no model. The request's method, path, body (the operation's
example, or the model's ``-create``/``-update`` schema example), expected
status and name all come from the document; the extension adds only what
OpenAPI cannot say: the query to send, which remembered record id fills
``{id}``, and what the test script remembers for later requests. Folders
follow the operations' tags (named by their ``x-displayName``, if any):
authentication first, then one per model. The
API key is set once, at collection level; ``{{token}}`` is a disabled
header on every data request (enable it to act as a logged-in user).

Each request carries a test script, so ``newman run`` checks the answers:
a search remembers the first id it finds for the read request; a create
remembers the new id, and only that record is updated and deleted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

SCHEMA = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
METHODS = ("get", "put", "post", "delete", "patch", "head")
# what the test scripts remember, per model (the model's name with dots as underscores)
RECORD_VARIABLES = {"found": "id", "created": "created_id", "xmlid": "xmlid"}


@dataclass(frozen=True)
class Example:
    """How the collection calls a route (``Route.postman``).

    - ``query``: the query string sent;
    - ``body``: the body sent; None sends the OpenAPI operation's example;
    - ``record``: ``found`` or ``created``: the remembered id that fills
      ``{id}`` (the request is skipped while it is unset);
    - ``then``: lines of the test script after the status check; ``{found}``
      and ``{created}`` name the model's variables for those ids;
    - ``token_header``: a disabled ``token`` header to act as a logged-in user;
    - ``xmlid``: ``{xmlid}`` is filled with the model's variable, given a
      default (``postman_example.<model>``) when unset;
    - ``accept``: other statuses the test script accepts (a read by an
      external id that was never created: 404);
    - ``raw``: (Content-Type, text) of a body that is not JSON (a file, a
      multipart body). ``{field}`` and ``{report}`` in the path are filled
      per model by the OpenAPI document (``x-postman.path``).
    """

    query: tuple[tuple[str, str], ...] = ()
    body: object = None
    record: str | None = None
    then: tuple[str, ...] = ()
    token_header: bool = True
    xmlid: bool = False
    accept: tuple[int, ...] = ()
    raw: tuple[str, str] | None = None

    def extension(self) -> dict:
        """The ``x-postman`` value the OpenAPI operation carries."""
        out: dict = {}
        if self.query:
            out["query"] = dict(self.query)
        if self.body is not None:
            out["body"] = self.body
        if self.record:
            out["record"] = self.record
        if self.then:
            out["then"] = list(self.then)
        if self.token_header:
            out["token_header"] = True
        if self.xmlid:
            out["xmlid"] = True
        if self.accept:
            out["accept"] = list(self.accept)
        if self.raw:
            out["raw"] = {"type": self.raw[0], "body": self.raw[1]}
        return out


def _variables(tag: str) -> dict:
    base = tag.replace(".", "_")
    return {role: f"{base}_{suffix}" for role, suffix in RECORD_VARIABLES.items()}


def _url(
    path: str,
    variables: Mapping[str, str],
    query: Mapping[str, str] | None,
    values: Mapping[str, str] | None = None,
) -> dict:
    segments = path.strip("/").split("/")
    filled = {"{id}": variables.get("record"), "{xmlid}": variables["xmlid"]}
    given = {f"{{{name}}}": value for name, value in (values or {}).items()}
    segments = [given.get(s) or (f"{{{{{filled[s]}}}}}" if filled.get(s) else s) for s in segments]
    url = {"raw": "{{baseUrl}}/" + "/".join(segments), "host": ["{{baseUrl}}"], "path": segments}
    if query:
        url["query"] = [{"key": k, "value": v} for k, v in query.items()]
        url["raw"] += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return url


def _script(kind: str, lines: Sequence[str]) -> dict:
    return {"listen": kind, "script": {"type": "text/javascript", "exec": list(lines)}}


def _status(op: Mapping) -> int:
    return min(int(code) for code in op["responses"] if code.isdigit() and code.startswith("2"))


def _example_body(doc: Mapping, op: Mapping, extension: Mapping) -> object | None:
    if "body" in extension:
        return extension["body"]
    media = op.get("requestBody", {}).get("content", {}).get("application/json")
    if media is None:
        return None
    if "example" in media:
        return media["example"]
    ref = media.get("schema", {}).get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        return doc["components"]["schemas"][ref.rsplit("/", 1)[1]].get("example")
    return None


def _request(doc: Mapping, path: str, method: str, op: Mapping) -> dict:
    extension = op["x-postman"]
    variables = _variables(op["tags"][0])
    status = _status(op)
    successes = sorted(int(code) for code in op["responses"] if code.isdigit() and code.startswith("2"))
    successes += extension.get("accept", [])
    if len(successes) == 1:
        tests = [f'pm.test("answers {status}", function () {{ pm.response.to.have.status({status}); }});']
    else:
        codes = ", ".join(map(str, successes))
        tests = [
            f'pm.test("answers one of {codes}", function () {{ pm.expect(pm.response.code).to.be.oneOf([{codes}]); }});'
        ]
    for line in extension.get("then", ()):
        for role, variable in variables.items():
            line = line.replace(f"{{{role}}}", variable)
        tests.append(line)
    events = []
    record_var = variables[extension["record"]] if extension.get("record") else None
    # a query value may name a remembered id: {found}, {created}
    query = {
        name: next((f"{{{{{variables[r]}}}}}" for r in ("found", "created") if value == f"{{{r}}}"), value)
        for name, value in (extension.get("query") or {}).items()
    }
    prerequest = []
    if record_var:
        prerequest.append(
            f'if (!pm.collectionVariables.get("{record_var}")) {{ pm.execution.skipRequest(); }}'
        )
    if extension.get("xmlid"):
        default = "postman_example." + variables["xmlid"].removesuffix("_xmlid")
        prerequest.append(
            f'if (!pm.collectionVariables.get("{variables["xmlid"]}")) '
            f'{{ pm.collectionVariables.set("{variables["xmlid"]}", "{default}"); }}'
        )
    if prerequest:
        events.append(_script("prerequest", prerequest))
    events.append(_script("test", tests))
    headers = []
    if extension.get("token_header"):
        headers.append(
            {
                "key": "token",
                "value": "{{token}}",
                "disabled": True,
                "description": "Enable to act as the token's user.",
            }
        )
    request = {
        "method": method.upper(),
        "header": headers,
        "url": _url(
            path,
            {"record": record_var, "xmlid": variables["xmlid"]},
            query,
            extension.get("path", {}),
        ),
        "description": op.get("summary", ""),
    }
    body = _example_body(doc, op, extension)
    if raw := extension.get("raw"):
        request["body"] = {"mode": "raw", "raw": raw["body"]}
        request["header"] = [*headers, {"key": "Content-Type", "value": raw["type"]}]
    elif body is not None:
        # "{{userId}}" stands for a number: Postman substitutes variables in the raw text
        raw = json.dumps(body, indent=2).replace('"{{userId}}"', "{{userId}}")
        request["body"] = {"mode": "raw", "raw": raw, "options": {"raw": {"language": "json"}}}
        request["header"] = [*headers, {"key": "Content-Type", "value": "application/json"}]
    return {"name": f"{op.get('summary', '')} ({method.upper()})", "event": events, "request": request}


def build(doc: Mapping, *, base_url: str, title: str = "Odoo REST API", user_id: int | None = None) -> dict:
    """The collection of an OpenAPI document (``lib.openapi.build``): a folder per tag.

    Requests keep the order of the route table (the document lists the
    operations of each path in that order; ``x-postman.order`` says it
    across paths). ``user_id``: the default user to issue a login token for.
    """
    folders: dict[str, list] = {}
    for path, operations in doc["paths"].items():
        for method in METHODS:
            op = operations.get(method)
            if op and "x-postman" in op:
                item = _request(doc, path, method, op)
                folders.setdefault(op["tags"][0], []).append((op["x-postman"].get("order", 0), item))
    tags = {tag["name"]: tag for tag in doc.get("tags", [])}
    ordered = sorted(folders, key=lambda tag: (tag != "authentication", tag))
    return {
        "info": {
            "name": title,
            "schema": SCHEMA,
            "description": "Odoo's models over REST. Set apiKey (and baseUrl); data requests carry "
            "a disabled token header to act as a logged-in user.",
        },
        "auth": {
            "type": "apikey",
            "apikey": [
                {"key": "key", "value": "api-key", "type": "string"},
                {"key": "value", "value": "{{apiKey}}", "type": "string"},
                {"key": "in", "value": "header", "type": "string"},
            ],
        },
        "variable": [
            {"key": "baseUrl", "value": base_url, "type": "string"},
            {"key": "apiKey", "value": "", "type": "string"},
            {"key": "token", "value": "", "type": "string"},
            {"key": "userId", "value": str(user_id or ""), "type": "string"},
            {"key": "refreshToken", "value": "", "type": "string"},
            {"key": "login", "value": "", "type": "string"},
            {"key": "password", "value": "", "type": "string"},
        ],
        "item": [
            {
                "name": tags.get(tag, {}).get("x-displayName", tag),
                "description": tags.get(tag, {}).get("description", tag),
                "item": [item for _order, item in sorted(folders[tag], key=lambda pair: pair[0])],
            }
            for tag in ordered
        ],
    }
