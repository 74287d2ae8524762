"""The Postman Collection v2.1 of the API (API.md section 5).

Built from the same route table and model descriptions as the OpenAPI
document (lib.openapi.ModelDoc): a folder for authentication, then a folder
per model with only the routes the caller may use on it. The API key is set
once, at collection level; ``{{token}}`` is a disabled header on every data
request (enable it to act as a logged-in user).

Each request carries a test script, so ``newman run`` checks the answers:
a search remembers the first id it finds for the read request; a create
remembers the new id, and only that record is updated and deleted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from .openapi import ModelDoc, model_schemas
from .routes import ROUTES, Route

SCHEMA = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
EXPECTED = {"create": 201}
# A method every model has that only needs the read scope.
EXECUTE_KW_EXAMPLE = {"method": "search_count", "args": [[]], "kwargs": {}}
TOKEN_EXAMPLES = {
    "generate_token": {"user_id": "{{userId}}", "expiration_days": 1},
    "auth_login": {"login": "{{login}}", "password": "{{password}}"},
    "auth_refresh": {"refresh_token": "{{refreshToken}}"},
    "auth_logout": {"refresh_token": "{{refreshToken}}"},
}
TOKEN_SCRIPTS = {
    "generate_token": ['pm.collectionVariables.set("token", pm.response.json().login_token);'],
    "auth_login": [
        "const body = pm.response.json();",
        'pm.collectionVariables.set("token", body.access_token);',
        'pm.collectionVariables.set("refreshToken", body.refresh_token);',
    ],
    "auth_refresh": [
        "const body = pm.response.json();",
        'pm.collectionVariables.set("token", body.access_token);',
        'pm.collectionVariables.set("refreshToken", body.refresh_token);',
    ],
}
# Token routes, in the order a session uses them; logout comes last.
TOKEN_ORDER = ("generate_token", "auth_login", "auth_refresh", "auth_logout")
# Data routes, in the order that lets each request use what an earlier one found.
DATA_ORDER = ("search", "schema", "record_count", "read", "create", "update", "patch", "execute_kw", "delete")


def _variable_name(model: str, what: str) -> str:
    return f"{model.replace('.', '_')}_{what}"


def _url(route: Route, model: str | None, record_var: str | None, query: dict | None = None) -> dict:
    segments = ["api", *route.segments]
    if model:
        segments = [model if s == "{model}" else s for s in segments]
    segments = [f"{{{{{record_var}}}}}" if s == "{id}" else s for s in segments]
    url = {"raw": "{{baseUrl}}/" + "/".join(segments), "host": ["{{baseUrl}}"], "path": segments}
    if query:
        url["query"] = [{"key": k, "value": v} for k, v in query.items()]
        url["raw"] += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return url


def _script(kind: str, lines: Sequence[str]) -> dict:
    return {"listen": kind, "script": {"type": "text/javascript", "exec": list(lines)}}


def _status_test(status: int) -> list[str]:
    return [f'pm.test("answers {status}", function () {{ pm.response.to.have.status({status}); }});']


def _skip_unless(variable: str) -> dict:
    return _script(
        "prerequest", [f'if (!pm.collectionVariables.get("{variable}")) {{ pm.execution.skipRequest(); }}']
    )


def _request(name: str, route: Route, url: dict, body: object | None, headers: list, events: list) -> dict:
    request = {"method": route.method, "header": headers, "url": url, "description": route.summary}
    if body is not None:
        # "{{userId}}" stands for a number: Postman substitutes variables in the raw text
        raw = json.dumps(body, indent=2).replace('"{{userId}}"', "{{userId}}")
        request["body"] = {"mode": "raw", "raw": raw, "options": {"raw": {"language": "json"}}}
        request["header"] = [*headers, {"key": "Content-Type", "value": "application/json"}]
    return {"name": name, "event": events, "request": request}


def _token_item(route: Route) -> dict:
    status = 200
    events = [_script("test", _status_test(status) + TOKEN_SCRIPTS.get(route.name, []))]
    return _request(route.summary, route, _url(route, None, None), TOKEN_EXAMPLES[route.name], [], events)


def _model_item(route: Route, model: ModelDoc, create_example: dict, update_example: dict) -> dict:
    found, created = _variable_name(model.name, "id"), _variable_name(model.name, "created_id")
    token_header = [
        {
            "key": "token",
            "value": "{{token}}",
            "disabled": True,
            "description": "Enable to act as the token's user.",
        }
    ]
    status = EXPECTED.get(route.name, 200)
    tests = _status_test(status)
    events, query, body, record_var = [], None, None, None
    if route.name == "search":
        query = {"limit": "5"}
        tests += [
            "const rows = pm.response.json();",
            f'if (rows.length) {{ pm.collectionVariables.set("{found}", rows[0].id); }}',
        ]
    elif route.name == "read":
        record_var = found
        events.append(_skip_unless(found))
    elif route.name == "create":
        body = create_example
        tests += [f'pm.collectionVariables.set("{created}", pm.response.json().id);']
    elif route.name in ("update", "patch", "delete"):
        record_var, body = created, (update_example if route.name != "delete" else None)
        events.append(_skip_unless(created))
    elif route.name == "execute_kw":
        body = EXECUTE_KW_EXAMPLE
    events.append(_script("test", tests))
    name = f"{route.summary} ({route.method} {route.name})"
    return _request(name, route, _url(route, model.name, record_var, query), body, token_header, events)


def _model_folder(model: ModelDoc, schemas: Mapping[str, dict] | None) -> dict:
    schemas = schemas or model_schemas(model)
    create_example = schemas[f"{model.name}-create"]["example"]
    update_example = schemas[f"{model.name}-update"]["example"]
    routes = {r.name: r for r in ROUTES if r.kind == "data"}
    items = [
        _model_item(routes[name], model, create_example, update_example)
        for name in DATA_ORDER
        if routes[name].operation is None or routes[name].operation in model.operations
    ]
    return {"name": model.name, "description": model.description or model.name, "item": items}


def build(
    models: Sequence[ModelDoc],
    *,
    base_url: str,
    title: str = "Odoo REST API",
    fragments: Mapping[str, Mapping[str, dict]] | None = None,
    user_id: int | None = None,
) -> dict:
    """The collection: authentication, then one folder per model (sorted by name).

    ``fragments`` are the models' ``model_schemas``, when the caller has them;
    ``user_id`` the default user to issue a login token for.
    """
    routes = {r.name: r for r in ROUTES if r.kind == "token"}
    auth_folder = {
        "name": "Authentication",
        "description": "Login tokens. Set login and password for auth/login.",
        "item": [_token_item(routes[name]) for name in TOKEN_ORDER],
    }
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
            auth_folder,
            *(_model_folder(m, (fragments or {}).get(m.name)) for m in sorted(models, key=lambda m: m.name)),
        ],
    }
