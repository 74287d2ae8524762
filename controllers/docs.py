"""Documentation routes (API.md section 5): OpenAPI, Postman, Swagger UI.

Who is asking decides what the documents describe: a key (its scopes and its
user's access), else an Odoo session (that user's access), else nobody (the
generic document, when ``rest_api.docs_public`` allows it). Swagger UI's own
files come from the pinned ``swagger-ui-py`` package, served by this server.
"""

import html
import importlib.metadata
import json
import mimetypes
import threading
from pathlib import Path

import swagger_ui
from werkzeug.http import parse_accept_header
from werkzeug.urls import url_encode

from odoo import http
from odoo.http import Response, request

from ..lib import errors, routes, serialize

ASSET_ROUTE = "/rest_api/swagger-ui"
ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png", "oauth2-redirect.html")
# where Swagger UI's OAuth popup comes back (register it among a key's OAuth redirect URIs)
OAUTH2_REDIRECT = f"{ASSET_ROUTE}/oauth2-redirect.html"
ASSET_DIR = Path(swagger_ui.__file__).resolve().parent / "static"
SWAGGER_UI_VERSION = importlib.metadata.version("swagger-ui-py")
JSON_TYPE = "application/json; charset=utf-8"
_assets = {}  # name -> (plain bytes, gzipped bytes), read once per process
_assets_lock = threading.Lock()


def requested_models(call):
    """``?models=a,b`` as a set of names (None when absent); 400 for a malformed name."""
    text = call.args.get("models")
    if text is None:
        return None
    names = {name.strip() for name in text.split(",") if name.strip()}
    if len(names) > 1000 or not all(routes.MODEL_RE.match(name) and len(name) <= 128 for name in names):
        raise errors.BadRequest("models must be a comma-separated list of model names.")
    return names


def _document(kind, call, headers):
    """Who is asking (``call.key`` and its scopes, a session's user, or
    ``call.anonymous``) decides what the document describes; gzipped for
    a client that accepts it."""
    gzipped = _accepts_gzip(call.httprequest)
    body = request.env["rest.api.docs"]._document(
        kind,
        scope_map=call.scope_map,
        requested=requested_models(call),
        anonymous=call.anonymous,
        max_page_size=call.setting("rest_api.max_page_size"),
        base_url=call.httprequest.host_url.rstrip("/"),
        gzipped=gzipped,
    )
    headers = {**headers, **_no_store(call), "Vary": "Accept-Encoding"}
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    return Response(body, content_type=JSON_TYPE, headers=headers)


def openapi(call):
    return _document("openapi", call, {})


def postman(call):
    return _document(
        "postman", call, {"Content-Disposition": 'attachment; filename="rest_api.postman_collection.json"'}
    )


def _accepts_gzip(httprequest):
    return parse_accept_header(httprequest.headers.get("Accept-Encoding"))["gzip"] > 0


def _no_store(call):
    # a document naming what a key or user reaches must not sit in shared caches
    return {"Cache-Control": "no-cache" if call.anonymous else "private, no-store"}


def swagger_ui_page(call):
    models = call.args.get("models")
    spec_url = "/api/openapi.json" + (
        "?" + url_encode({"models": models}) if models and requested_models(call) else ""
    )
    page = PAGE.format(
        assets=ASSET_ROUTE,
        version=html.escape(SWAGGER_UI_VERSION),
        spec_url=json.dumps(spec_url).replace("<", "\\u003c"),  # a JS string that cannot close the script
        oauth2_redirect=json.dumps(OAUTH2_REDIRECT),
    )
    headers = {
        "Cache-Control": "no-cache",
        # blob:: Try it out shows a downloaded image from a blob: URL the page itself made
        "Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-inline'; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; "
        "frame-ancestors 'self'",
        "X-Content-Type-Options": "nosniff",
    }
    return Response(page, content_type="text/html; charset=utf-8", headers=headers)


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>REST API - Swagger UI</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css?v={version}">
<link rel="icon" type="image/png" href="{assets}/favicon-32x32.png?v={version}">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js?v={version}"></script>
<script>
window.ui = SwaggerUIBundle({{
  url: {spec_url},
  dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  deepLinking: true,
  persistAuthorization: true,
  displayRequestDuration: true,
  validatorUrl: null,
  withCredentials: false,
  oauth2RedirectUrl: window.location.origin + {oauth2_redirect},
}});
// Authorize's OAuth 2.0 flow: the authorization code with PKCE (API.md section 14)
window.ui.initOAuth({{ usePkceWithAuthorizationCodeGrant: true, appName: "Swagger UI" }});
</script>
</body>
</html>
"""


# ---------------------------------------------------------------- Swagger UI's files
def _asset(name):
    with _assets_lock:
        if name not in _assets:
            data = (ASSET_DIR / name).read_bytes()
            _assets[name] = (data, serialize.gzipped(data))
        return _assets[name]


class SwaggerUiAssets(http.Controller):
    @http.route(
        f"{ASSET_ROUTE}/<string:name>",
        type="http",
        auth="none",
        methods=["GET", "HEAD"],
        csrf=False,
        save_session=False,
        readonly=True,
    )
    def swagger_ui_asset(self, name, v=None):
        # ``v``: the page's cache-busting version (``?v=``); taken, so that Odoo
        # does not warn about an argument the route ignores on every request
        if name not in ASSETS:
            return request.not_found()
        plain, packed = _asset(name)
        use_gzip = _accepts_gzip(request.httprequest)
        mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        response = Response(packed if use_gzip else plain, mimetype=mimetype)
        if use_gzip:
            response.headers["Content-Encoding"] = "gzip"
        response.headers["Vary"] = "Accept-Encoding"
        response.headers["Cache-Control"] = "public, max-age=86400"
        response.set_etag(f"{SWAGGER_UI_VERSION}-{name}-{'gz' if use_gzip else 'id'}")
        return response.make_conditional(request.httprequest)
