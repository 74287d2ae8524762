"""The route table: every route of the API, each in one entry.

An entry says everything about its route: the method and path, the
handler, the auth policy, the scope it needs, its OpenAPI operation and its
Postman example (see ``lib.routes.Route``). Routing, the scope check, the
OpenAPI document and, from that, the Postman collection are derived from
this table alone; ``rest.api.pipeline._routes()`` returns it, and another
addon extends it there. The order is the order of the Postman collection.
"""

from ..lib.openapi import (
    AGGREGATE_GROUPS,
    ANY,
    BATCH_ANSWER,
    BATCH_BODY,
    BATCH_EXAMPLE,
    COUNT,
    EXECUTE_KW_BODY,
    GENERATE_TOKEN_BODY,
    GENERATED_TOKEN,
    LOGGED_IN,
    LOGGED_OUT,
    LOGIN_BODY,
    LOGOUT_BODY,
    REFRESH_BODY,
    SCHEMA_ANSWER,
    SUBSCRIBED,
    WEBHOOK,
    WEBHOOK_BODY,
    WEBHOOK_EXAMPLE,
    WEBHOOKS,
    Operation,
    change_page,
    create_body,
    created,
    record,
    records,
    update_body,
    updated,
    upserted,
)
from ..lib.openapi_files import (
    ATTACHED,
    ATTACHMENTS_BODY,
    DOWNLOAD,
    NEEDS_ATTACHMENTS,
    NEEDS_BINARY,
    NEEDS_REPORT,
    POSTMAN_BOUNDARY,
    POSTMAN_MULTIPART,
    REPORT,
    SAVED,
    TINY_GIF,
    UPLOAD_BODY,
)
from ..lib.postman import Example
from ..lib.routes import NOT_KEPT, WITHHELD, Route
from . import aggregate, batch, changes, docs, external_ids, files, handlers, oauth, tokens, webhooks

AUTH = ("authentication",)
HOOKS = ("webhooks",)
RECORDS = ("records",)
WRITE_ERRORS = (400, 401, 403, 404, 409, 413, 422, 429)
IDEMPOTENT = "Idempotency-Key"
READ_ERRORS = (400, 401, 403, 404, 429)
TOKEN_ERRORS = (400, 401, 413, 429)
REMEMBER_TOKENS = (
    "const body = pm.response.json();",
    'pm.collectionVariables.set("token", body.access_token);',
    'pm.collectionVariables.set("refreshToken", body.refresh_token);',
)
GENERATE_TOKEN = Operation(
    body=GENERATE_TOKEN_BODY,
    example={"user_id": 2, "expiration_days": 10},
    answer=GENERATED_TOKEN,
    answer_name="generate_token",
    errors=(400, 401, 403, 404, 413, 429),
)
UPDATE = Operation(
    parameters=("If-Match", "Prefer", IDEMPOTENT, "fields"),
    body=update_body,
    answer=updated,
    answer_name="updated",
    errors=(*WRITE_ERRORS, 412),
    headers=("ETag", "Preference-Applied"),
    description="With `Prefer: return=representation` the answer is the record as `GET` returns it.",
)
UPDATE_EXAMPLE = Example(record="created")
# files and reports (API.md section 11): documented once, and on each model that has binary
# fields (reports) the caller reaches; under the model's tag in the Postman collection
FILES = ("files", "records")
BINARY_HEADERS = ("ETag", "Content-Disposition", "Content-Range")
REPORT_DESCRIPTION = (
    "The report rendered for the record(s) as the caller: Odoo's report groups and record rules "
    "apply. PDF (`application/pdf`) by default; `format=html` gives its HTML. Without wkhtmltopdf on "
    "the server, PDF is 503 (HTML still works)."
)
REPORT_OPERATION = Operation(
    parameters=("format",), answer_content=REPORT, answer_name="report", needs=NEEDS_REPORT,
    errors=(*READ_ERRORS, 503), headers=("Content-Disposition",), description=REPORT_DESCRIPTION,
)  # fmt: skip

ROUTES = (
    # ------------------------------------------------------------ login tokens (API.md section 2)
    Route(
        "generate_token", "POST", "generate_token", tokens.generate_token,
        summary="Issue a login token", tags=AUTH, openapi=GENERATE_TOKEN, kept=NOT_KEPT,
        postman=Example(
            body={"user_id": "{{userId}}", "expiration_days": 1}, token_header=False,
            then=('pm.collectionVariables.set("token", pm.response.json().login_token);',),
        ),
    ),
    Route(
        "model_generate_token", "POST", "{model}/generate_token", tokens.generate_token,
        summary="Issue a login token", tags=AUTH, openapi=GENERATE_TOKEN, kept=NOT_KEPT,
    ),
    Route(
        "auth_login", "POST", "auth/login", tokens.auth_login, auth="key",
        summary="Log a user in", tags=AUTH, kept=NOT_KEPT,
        openapi=Operation(body=LOGIN_BODY, example={"login": "demo", "password": "demo"}, answer=LOGGED_IN,
                          answer_name="login", errors=TOKEN_ERRORS),
        postman=Example(body={"login": "{{login}}", "password": "{{password}}"}, token_header=False,
                        then=REMEMBER_TOKENS),
    ),
    Route(
        "auth_refresh", "POST", "auth/refresh", tokens.auth_refresh, auth="key",
        summary="Exchange a refresh token", tags=AUTH, kept=NOT_KEPT,
        openapi=Operation(body=REFRESH_BODY, example={"refresh_token": "odoorefresh_..."}, answer=LOGGED_IN,
                          answer_name="login", errors=TOKEN_ERRORS),
        postman=Example(body={"refresh_token": "{{refreshToken}}"}, token_header=False, then=REMEMBER_TOKENS),
    ),
    Route(
        "auth_logout", "POST", "auth/logout", tokens.auth_logout, auth="key",
        summary="Revoke a login", tags=AUTH,
        openapi=Operation(body=LOGOUT_BODY, body_required=False, answer=LOGGED_OUT, answer_name="logout",
                          errors=TOKEN_ERRORS),
        postman=Example(body={"refresh_token": "{{refreshToken}}"}, token_header=False),
    ),
    # ------------------------------------------------------------ records (API.md section 4)
    Route(
        "search", "GET", "{model}/search", handlers.search, operation="read",
        summary="Search records", tags=RECORDS,
        openapi=Operation(
            parameters=("domain", "fields", "limit", "offset", "cursor", "order", "context"),
            answer=records, answer_name="records", errors=READ_ERRORS, headers=("X-Total-Count", "Link"),
            description="Records matching `domain`, one page at a time "
            "(`Link` names the next and previous pages: by `cursor` when the order is on the "
            "model's own columns, else by `offset`).",
        ),
        postman=Example(query=(("limit", "5"),), then=(
            "const rows = pm.response.json();",
            'if (rows.length) { pm.collectionVariables.set("{found}", rows[0].id); }',
        )),
    ),
    Route(
        "schema", "GET", "{model}/schema", handlers.schema, operation="read",
        summary="Field metadata", tags=RECORDS,
        openapi=Operation(parameters=("context",), answer=SCHEMA_ANSWER, answer_name="schema", errors=READ_ERRORS),
        postman=Example(),
    ),
    Route(
        "record_count", "GET", "{model}/record_count", handlers.record_count, operation="read",
        summary="Count records", tags=RECORDS,
        openapi=Operation(parameters=("domain", "context"), answer=COUNT, answer_name="count",
                          errors=READ_ERRORS),
        postman=Example(),
    ),
    Route(
        "aggregate", "GET", "{model}/aggregate", aggregate.aggregate, operation="read",
        summary="Group and aggregate records", tags=RECORDS,
        openapi=Operation(
            parameters=("domain", "groupby", "aggregates", "aggregate_order", "limit", "offset", "context"),
            answer=AGGREGATE_GROUPS, answer_name="groups", errors=READ_ERRORS, headers=("X-Total-Count", "Link"),
            description="Groups of the records matching `domain`, computed by Odoo's read_group as the caller: "
            "one object per group, keyed by the `groupby` items and the `aggregates` as sent, e.g. "
            '`{"partner_id": [3, "Azure"], "date_order:month": "2024-03", "amount_total:sum": 1234.5, '
            '"__count": 5}`. `X-Total-Count` is the number of groups.',
        ),
        postman=Example(query=(("aggregates", "__count"),), then=(
            'pm.test("one group, counted", function () { '
            'pm.expect(pm.response.json()[0].__count).to.be.a("number"); });',
        )),
    ),
    Route(
        "changes", "GET", "{model}/changes", changes.changes_route, operation="read",
        summary="What changed since a cursor", tags=RECORDS,
        openapi=Operation(
            parameters=("fields", "domain", "limit", "changes_cursor"),
            answer=change_page, answer_name="changes", errors=(*READ_ERRORS, 409, 410, 503),
            description="The change feed of a tracked model (API.md section 13). Without `cursor`: a full sync, "
            "every record the caller can read that matches `domain`, as upserts, in pages: call again with "
            "`cursor` until `more` is false, keep the last `cursor`. With it later: every change committed "
            "since, oldest first, each record once in its present state (`upsert`, the record as `search` "
            "returns it), or `delete` (deleted, archived, out of the domain or no longer readable). "
            "409: the model is not tracked; 410: the cursor is older than rest_api.sync_retention_days, "
            "or tracking was turned off since: start a full sync again; 503 (with Retry-After): tracking was "
            "just turned on and a transaction begun before it is still running: try again.",
        ),
        postman=Example(query=(("limit", "5"),), accept=(409,), then=(
            "if (pm.response.code === 200) { "
            'pm.test("a page of changes", function () { '
            'pm.expect(pm.response.json().changes).to.be.an("array"); }); }',
        )),
    ),
    Route(
        "read", "GET", "{model}/{id}", handlers.read, operation="read",
        summary="Read one record", tags=RECORDS,
        openapi=Operation(parameters=("fields", "context", "If-None-Match"), answer=record, answer_name="record",
                          errors=(*READ_ERRORS, 304), headers=("ETag",)),
        postman=Example(record="found"),
    ),
    Route(
        "create", "POST", "{model}/create", handlers.create, operation="create",
        summary="Create one or more records", tags=RECORDS,
        openapi=Operation(parameters=("Prefer", IDEMPOTENT, "fields"), body=create_body, answer=created, answer_name="created",
                          status=201, errors=WRITE_ERRORS, headers=("Location", "ETag", "Preference-Applied"),
                          description="With `Prefer: return=representation` the answer is the record (or records) "
                          "as `GET` returns it."),
        postman=Example(then=('pm.collectionVariables.set("{created}", pm.response.json().id);',)),
    ),
    Route(
        "update", "PUT", "{model}/{id}", handlers.update, operation="write",
        summary="Update one record", tags=RECORDS, openapi=UPDATE, postman=UPDATE_EXAMPLE,
    ),
    Route(
        "patch", "PATCH", "{model}/{id}", handlers.update, operation="write",
        summary="Update one record", tags=RECORDS, openapi=UPDATE, postman=UPDATE_EXAMPLE,
    ),
    Route(
        "execute_kw", "POST", "{model}/execute_kw", handlers.execute_kw,
        operations=handlers.execute_kw_operations, kept=handlers.execute_kw_kept,
        summary="Call a public model method", tags=RECORDS,
        openapi=Operation(
            parameters=(IDEMPOTENT,),
            body=EXECUTE_KW_BODY,
            example={"method": "search_read", "args": [[]], "kwargs": {"fields": ["id", "display_name"], "limit": 5}},
            answer=ANY, answer_name="any", errors=WRITE_ERRORS,
            description="Calls a public model method; the method decides the scope it needs "
            "(read, create, write, delete or execute). Recordsets come back as lists of ids.",
        ),
        # a method every model has that only needs the read scope
        postman=Example(body={"method": "search_count", "args": [[]], "kwargs": {}}),
    ),
    # ------------------------------------------------------------ files and reports (API.md section 11)
    Route(
        "binary_read", "GET", "{model}/{id}/binary/{field}", files.binary_get, operation="read",
        summary="Download a binary field", tags=FILES,
        openapi=Operation(
            parameters=("Range", "If-None-Match-file"), answer_content=DOWNLOAD, answer_name="file", also=(206,),
            errors=(*READ_ERRORS, 304, 416), headers=BINARY_HEADERS, needs=NEEDS_BINARY,
            description="The field's bytes, streamed, with their own `Content-Type` (image/png, "
            "application/pdf...), `Content-Disposition` with the file name, and an `ETag` of the "
            "content (`If-None-Match`: 304). `Range` gives a part (206; one byte range: another unit or "
            "several ranges are ignored, 200). An empty field is 404. An attachment linked to a record "
            "needs read on that record's model too.",
        ),
        # the first record found may have nothing in the field
        postman=Example(record="found", accept=(404,)),
    ),
    Route(
        "binary_write", "PUT", "{model}/{id}/binary/{field}", files.binary_put, operation="write",
        summary="Upload a binary field", tags=FILES,
        openapi=Operation(
            parameters=(IDEMPOTENT,), body_content=UPLOAD_BODY, answer=SAVED, answer_name="saved",
            errors=WRITE_ERRORS, needs=NEEDS_BINARY,
            description="The body is the file's bytes (any `Content-Type`), or `multipart/form-data` with "
            "one file part (at most 100 parts). An image field takes images only, of the type declared "
            "(400). An empty "
            "body empties the field. At most `rest_api.max_body_size` bytes (413, refused on its "
            "`Content-Length` before it is read).",
        ),
        postman=Example(record="created", raw=("image/gif", TINY_GIF)),
    ),
    Route(
        "attachments", "POST", "{model}/{id}/attachments", files.attachments, operation="write",
        summary="Attach files to a record", tags=FILES,
        openapi=Operation(
            parameters=(IDEMPOTENT,), body_content=ATTACHMENTS_BODY, answer=ATTACHED, answer_name="attached",
            status=201, errors=WRITE_ERRORS, headers=("Location",), needs=NEEDS_ATTACHMENTS,
            description="`multipart/form-data`, one file part per file: each becomes an `ir.attachment` of "
            "the record, named by its file name. At most 100 parts (413, before anything is made). Needs "
            "write on the model and create on ir.attachment; the attachments are then records of "
            "`ir.attachment` like any other.",
        ),
        postman=Example(
            record="created", raw=(f"multipart/form-data; boundary={POSTMAN_BOUNDARY}", POSTMAN_MULTIPART)
        ),
    ),
    Route(
        "report", "GET", "{model}/{id}/report/{report}", files.report, operation="read",
        summary="Print a report of a record", tags=FILES, openapi=REPORT_OPERATION,
        postman=Example(record="found", query=(("format", "html"),)),
    ),
    Route(
        "report_many", "GET", "{model}/report/{report}", files.report_many, operation="read",
        summary="Print a report of several records", tags=FILES,
        openapi=Operation(
            parameters=("ids", "format"), answer_content=REPORT, answer_name="report", needs=NEEDS_REPORT,
            errors=(*READ_ERRORS, 503), headers=("Content-Disposition",), description=REPORT_DESCRIPTION,
        ),
        postman=Example(record="found", query=(("ids", "{found}"), ("format", "html"))),
    ),
    Route(
        "delete", "DELETE", "{model}/{id}", handlers.delete, operation="delete",
        summary="Delete one record", tags=RECORDS,
        openapi=Operation(parameters=("If-Match", IDEMPOTENT), errors=(401, 403, 404, 409, 412, 422, 429)),
        postman=Example(record="created"),
    ),
    # ------------------------------------------------------------ external ids (API.md section 9)
    Route(
        "xmlid_upsert", "PUT", "{model}/xmlid/{xmlid}", external_ids.upsert,
        operations=external_ids.upsert_operations, one_of=("create", "write"),
        summary="Create or update by external id", tags=RECORDS,
        openapi=Operation(
            parameters=("If-Match", "Prefer", IDEMPOTENT, "fields"), body=create_body, answer=upserted,
            answer_name="upserted", also=(201,), errors=(*WRITE_ERRORS, 412),
            headers=("Location", "ETag", "Preference-Applied"),
            description="An upsert: updates the record the external id names (needs write; 200), or creates "
            "a record with that external id (needs create; 201, Location). New external ids may not use the "
            "name of an installed module (400).",
        ),
        postman=Example(xmlid=True),
    ),
    Route(
        "xmlid_read", "GET", "{model}/xmlid/{xmlid}", external_ids.read, operation="read",
        summary="Read one record by external id", tags=RECORDS,
        openapi=Operation(parameters=("fields", "context", "If-None-Match"), answer=record, answer_name="record",
                          errors=(*READ_ERRORS, 304), headers=("ETag",)),
        # 404 until the upsert above created it (a key that may not create)
        postman=Example(xmlid=True, accept=(404,)),
    ),
    # ------------------------------------------------------------ batch (API.md section 9)
    Route(
        "batch", "POST", "batch", batch.batch, kept=batch.batch_kept,
        summary="Run data operations in one transaction", tags=("batch",),
        openapi=Operation(
            parameters=(IDEMPOTENT,), body=BATCH_BODY, example=BATCH_EXAMPLE, answer=BATCH_ANSWER,
            answer_name="batch", errors=(400, 401, 403, 404, 409, 412, 413, 422, 429),
            description="Operations run in order in one transaction: all or nothing. `${N.member}` in a path, "
            "or as a whole string value in a body, is that member of operation N's answer (`id`, `ids.K`). "
            "Each operation is checked and counted as if sent alone. The first one that fails is the answer: "
            "its problem, its status, with `operation`: N; nothing is written.",
        ),
        # leaves nothing behind: the two partners it creates, it deletes
        postman=Example(body={"operations": [
            *BATCH_EXAMPLE["operations"],
            {"method": "DELETE", "path": "/api/res.partner/${1.id}"},
            {"method": "DELETE", "path": "/api/res.partner/${0.id}"},
        ]}),
    ),
    # ------------------------------------------------------------ webhooks (API.md section 12)
    Route(
        "webhooks", "GET", "webhooks", webhooks.listing, summary="This key's webhook subscriptions",
        tags=HOOKS, openapi=Operation(answer=WEBHOOKS, answer_name="webhooks", errors=(401, 403, 429)),
        postman=Example(),
    ),
    Route(
        "webhook_subscribe", "POST", "webhooks", webhooks.subscribe, summary="Subscribe to a model's changes",
        tags=HOOKS, kept=WITHHELD,
        openapi=Operation(
            body=WEBHOOK_BODY, example=WEBHOOK_EXAMPLE, answer=SUBSCRIBED, answer_name="subscribed", status=201,
            errors=(400, 401, 403, 409, 413, 429), headers=("Location",),
            description="`url`, `model_id` (a model name or id the key may read) and `events` are required. "
            "The answer carries the signing secret (`whsec_...`): the only time it is shown. 409: the key "
            "and user already hold rest_api.max_webhooks_per_key subscriptions.",
        ),
    ),
    Route(
        "webhook_read", "GET", "webhooks/{id}", webhooks.read, summary="One webhook subscription", tags=HOOKS,
        openapi=Operation(answer=WEBHOOK, answer_name="webhook", errors=(401, 403, 404, 429)),
    ),
    Route(
        "webhook_update", "PATCH", "webhooks/{id}", webhooks.update, summary="Change a webhook subscription",
        tags=HOOKS,
        openapi=Operation(body=WEBHOOK_BODY, example={"active": False}, answer=WEBHOOK, answer_name="webhook",
                          errors=(400, 401, 403, 404, 413, 429)),
    ),
    Route(
        "webhook_delete", "DELETE", "webhooks/{id}", webhooks.delete, summary="Delete a webhook subscription",
        tags=HOOKS, openapi=Operation(errors=(401, 403, 404, 429)),
    ),
    # ------------------------------------------------------------ OAuth 2.0 (API.md section 14)
    # form-encoded requests answered with RFC 6749's JSON (the client authenticates in the
    # request: auth policy ``oauth``); described by the OpenAPI document's oauth2 scheme and
    # /.well-known/oauth-authorization-server. /api/oauth/authorize is an Odoo page
    # (controllers/oauth.py), outside this table: it needs Odoo's session and login page.
    Route("oauth_token", "POST", "oauth/token", oauth.token, auth="oauth", summary="OAuth 2.0 token endpoint",
          kept=NOT_KEPT),
    Route("oauth_revoke", "POST", "oauth/revoke", oauth.revoke, auth="oauth",
          summary="OAuth 2.0 token revocation (RFC 7009)", kept=NOT_KEPT),
    Route("oauth_introspect", "POST", "oauth/introspect", oauth.introspect, auth="oauth",
          summary="OAuth 2.0 token introspection (RFC 7662)", kept=NOT_KEPT),
    # ------------------------------------------------------------ documentation (API.md section 5)
    Route("openapi", "GET", "openapi.json", docs.openapi, auth="docs", summary="OpenAPI document"),
    Route("postman", "GET", "postman.json", docs.postman, auth="docs", summary="Postman collection"),
    Route("swagger_ui", "GET", "docs", docs.swagger_ui_page, auth="docs", summary="Swagger UI"),
)  # fmt: skip
