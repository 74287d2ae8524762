"""OAuth 2.0 for apps (API.md section 14), end to end: every flow driven by Authlib's client
(``OAuth2Session``, PKCE S256) as a stock app would, the login and consent pages by a person
(requests playing a browser without JavaScript, and a real headless Chromium), and the
attacks of the issue: a code replayed, another client's code or refresh token, redirect
tricks, scope widening, a public client's client credentials or introspection, a login
token alone, a token after its grant, key or user stops.
"""

import secrets
import threading
import time
import xmlrpc.client
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from conftest import ADMIN_LOGIN, ADMIN_PASSWORD, URL, assert_problem, call, uniq

AUTHORIZE, TOKEN, REVOKE, INTROSPECT = (
    URL + "/api/oauth/" + p for p in ("authorize", "token", "revoke", "introspect")
)
APP_URI = "com.example.e2e:/oauth"
LOOPBACK_URI = "http://127.0.0.1/cb"
WEB_URI = "https://app.example/cb"
SWAGGER_REDIRECT = URL + "/rest_api/swagger-ui/oauth2-redirect.html"
SCREENSHOT = "/tmp/oauth-consent.png"
LETTERS = {"r": "perm_read", "c": "perm_create", "w": "perm_write", "d": "perm_delete", "x": "perm_execute"}


# ---------------------------------------------------------------- set-up
@pytest.fixture(scope="module", autouse=True)
def base_url(admin):
    """RFC 9207's iss is web.base.url: this server, as on a configured site."""
    admin("ir.config_parameter", "set_param", "web.base.url", URL)
    admin("ir.config_parameter", "set_param", "web.base.url.freeze", "True")


class Client:
    def __init__(self, key_id, secret, client_id, name, public):
        self.id, self.secret, self.client_id, self.name, self.public = key_id, secret, client_id, name, public


@pytest.fixture(scope="module")
def oauth_client(admin):
    def make(public=True, user_id=None, scopes=None, uris=(APP_URI, LOOPBACK_URI, WEB_URI, SWAGGER_REDIRECT)):
        values = {"name": uniq("E2E app"), "user_id": user_id or admin.uid, "rate_limit": 0,
                  "oauth_redirect_uris": "\n".join(uris), "require_user_token": public,
                  "all_models": scopes is None}  # fmt: skip
        if scopes:
            values["scope_ids"] = [
                (0, 0, {"model_id": admin("ir.model", "search", [("model", "=", model)])[0],
                        **{LETTERS[c]: c in letters for c in LETTERS}})
                for model, letters in scopes.items()
            ]  # fmt: skip
        answer = admin("rest.api.key", "generate", values)
        client_id = admin("rest.api.key", "read", [answer["id"]], ["oauth_client_id"])[0]["oauth_client_id"]
        return Client(answer["id"], answer["key"], client_id, values["name"], public)

    return make


@pytest.fixture(scope="module")
def person(admin):
    """A new internal user: (id, login, password)."""

    def make():
        login = uniq("oauth-person")
        group = admin("ir.model.data", "search_read", [("module", "=", "base"), ("name", "=", "group_user")],
                      fields=["res_id"])[0]["res_id"]  # fmt: skip
        uid = admin("res.users", "create", {"name": "Person " + login, "login": login, "password": "Pw-" + login,
                                             "groups_id": [(6, 0, [group])]})  # fmt: skip
        return WebUser(login, "Pw-" + login, uid)

    return make


def app(client, redirect_uri=APP_URI, scope=None, auth=None):
    auth = auth or ("none" if client.public else "client_secret_basic")
    secret = None if auth == "none" else client.secret
    return OAuth2Session(client.client_id, secret, token_endpoint_auth_method=auth, revocation_endpoint_auth_method=auth,
                         scope=scope, redirect_uri=redirect_uri, code_challenge_method="S256")  # fmt: skip


def start(session, **extra):
    verifier = secrets.token_urlsafe(48)
    url, state = session.create_authorization_url(AUTHORIZE, code_verifier=verifier, **extra)
    return url, state, verifier


def exchange(session, location, verifier, state=None):
    return session.fetch_token(TOKEN, authorization_response=location, code_verifier=verifier, state=state)


def bearer(access_token, path="/api/res.partner/search?limit=1&fields=name", method="GET", **kwargs):
    return requests.request(method, URL + path, headers={"Authorization": "Bearer " + access_token}, timeout=60,
                            **kwargs)  # fmt: skip


def query(location):
    return dict(parse_qsl(urlsplit(location).query))


def assert_oauth_error(response, error, status=400):
    assert response.status_code == status, f"{response.status_code} {response.text[:300]}"
    assert response.headers["Content-Type"].split(";")[0] == "application/json"
    assert "no-store" in response.headers.get("Cache-Control", "")
    assert response.json()["error"] == error, response.text
    return response.json()


# ---------------------------------------------------------------- the person without JavaScript
class _Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms, self.form = [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.form = {"action": attrs.get("action") or "", "method": (attrs.get("method") or "get").lower(),
                         "fields": [], "buttons": []}  # fmt: skip
            self.forms.append(self.form)
        elif tag == "input" and self.form is not None and attrs.get("name"):
            self.form["fields"].append((attrs["name"], attrs.get("value") or ""))
        elif tag == "button" and self.form is not None:
            self.form["buttons"].append((attrs.get("name"), attrs.get("value")))

    def handle_endtag(self, tag):
        if tag == "form":
            self.form = None


def forms(html):
    parser = _Forms()
    parser.feed(html)
    return parser.forms


class WebUser:
    def __init__(self, login, password, uid=None):
        self.login, self.password, self.id = login, password, uid
        self.session = requests.Session()

    def follow(self, method, url, data=None):
        """Follows the server's own redirects; returns (last response, Location leaving the server)."""
        for _ in range(10):
            response = self.session.request(method, url, data=data, allow_redirects=False, timeout=60)
            location = response.headers.get("Location")
            if response.status_code not in (301, 302, 303, 307, 308) or not location:
                return response, None
            target = urljoin(url, location)
            if not target.startswith(URL + "/"):
                return response, location
            url, method, data = target, "GET", None
        raise AssertionError("too many redirects")

    def authorize(self, url):
        """GET the authorization URL, logging in on Odoo's login page when sent there."""
        response, location = self.follow("GET", url)
        if location is None and urlsplit(response.url).path == "/web/login":
            form = next(f for f in forms(response.text) if any(n == "password" for n, _ in f["fields"]))
            data = [(n, v) for n, v in form["fields"] if n not in ("login", "password")]
            data += [("login", self.login), ("password", self.password)]
            response, location = self.follow("POST", urljoin(response.url, form["action"]), data)
        return response, location

    def decide(self, page, decision="allow", drop=()):
        form = next(f for f in forms(page.text) if ("decision", decision) in f["buttons"])
        assert form["method"] == "post"
        data = [(n, v) for n, v in form["fields"] if n not in drop] + [("decision", decision)]
        return self.follow("POST", urljoin(page.url, form["action"]), data)

    def allow(self, url):
        """The redirect back to the app after Allow (none asked when the app was allowed as much before)."""
        response, location = self.authorize(url)
        if location is None:
            assert response.status_code == 200, response.text[:300]
            response, location = self.decide(response, "allow")
        assert location, f"{response.status_code} {response.text[:300]}"
        return location


@pytest.fixture(scope="module")
def web_admin():
    return WebUser(ADMIN_LOGIN, ADMIN_PASSWORD)


def code_flow(client, user, redirect_uri=APP_URI, scope=None):
    session = app(client, redirect_uri=redirect_uri, scope=scope)
    url, state, verifier = start(session)
    location = user.allow(url)
    return exchange(session, location, verifier, state), session


# ---------------------------------------------------------------- metadata, documents
def test_metadata():
    response = requests.get(URL + "/.well-known/oauth-authorization-server", timeout=60)
    doc = response.json()
    assert response.status_code == 200 and doc["issuer"] == URL
    assert doc["authorization_endpoint"] == AUTHORIZE and doc["token_endpoint"] == TOKEN
    assert doc["revocation_endpoint"] == REVOKE and doc["introspection_endpoint"] == INTROSPECT
    assert doc["response_types_supported"] == ["code"] and doc["code_challenge_methods_supported"] == ["S256"]
    assert set(doc["grant_types_supported"]) == {"authorization_code", "refresh_token", "client_credentials"}
    assert {"none", "client_secret_basic", "client_secret_post"} <= set(
        doc["token_endpoint_auth_methods_supported"]
    )
    assert doc["authorization_response_iss_parameter_supported"] is True


def test_client_id_is_public_and_separate(admin, oauth_client):
    client = oauth_client()
    assert client.client_id.startswith("odooclient_") and client.secret not in client.client_id
    assert client.client_id[len("odooclient_") :] not in client.secret


# ---------------------------------------------------------------- the code flow
def test_code_flow_runs_as_the_user_inside_the_scopes(admin, oauth_client, person):
    user = person()
    client = oauth_client(scopes={"res.partner": "r", "res.country": "r"})
    session = app(client)
    url, state, verifier = start(session)
    response, location = user.authorize(url)
    assert location is None and response.status_code == 200
    assert client.name in response.text and user.login in response.text and "res.partner" in response.text
    assert client.secret not in response.text
    assert response.headers["X-Frame-Options"] == "DENY" and "no-store" in response.headers["Cache-Control"]
    response, location = user.decide(response, "allow")
    params = query(location)
    assert location.startswith(APP_URI + "?") and params["state"] == state and params["iss"] == URL
    token = exchange(session, location, verifier, state)
    assert token["token_type"] == "Bearer" and token["scope"] == "res.country:read res.partner:read"
    assert token["refresh_token"] and token["expires_in"] > 0
    answer = bearer(
        token["access_token"], f'/api/res.users/search?fields=login&domain=[["id","=",{user.id}]]'
    )
    assert_problem(answer, 403)  # outside the key's scopes
    me = bearer(token["access_token"], "/api/res.partner/search?fields=name&limit=1")
    assert me.status_code == 200, me.text
    # a stock client signs its own calls
    assert session.get(URL + "/api/res.country/search?limit=1").status_code == 200
    grant = admin(
        "rest.api.oauth.grant", "search_read", [("user_id", "=", user.id)], fields=["key_id", "scope"]
    )
    assert [g["key_id"][0] for g in grant] == [client.id]


def test_a_code_works_once_and_its_replay_revokes_its_tokens(oauth_client, web_admin):
    client = oauth_client(scopes={"res.partner": "r"})
    session = app(client)
    url, state, verifier = start(session)
    location = web_admin.allow(url)
    token = exchange(session, location, verifier, state)
    assert bearer(token["access_token"]).status_code == 200
    again = requests.post(TOKEN, data={"grant_type": "authorization_code", "code": query(location)["code"],
                                       "code_verifier": verifier, "redirect_uri": APP_URI,
                                       "client_id": client.client_id}, timeout=60)  # fmt: skip
    assert_oauth_error(again, "invalid_grant")
    assert_problem(bearer(token["access_token"]), 401)  # revoked with its code
    refreshed = requests.post(TOKEN, data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"],
                                           "client_id": client.client_id}, timeout=60)  # fmt: skip
    assert_oauth_error(refreshed, "invalid_grant")


def test_a_code_is_bound_to_its_client_verifier_and_redirect(oauth_client, web_admin):
    client, other = oauth_client(scopes={"res.partner": "r"}), oauth_client(scopes={"res.partner": "r"})
    session = app(client, redirect_uri=LOOPBACK_URI)
    url, state, verifier = start(session)
    code = query(web_admin.allow(url))["code"]
    base = {"grant_type": "authorization_code", "code": code, "redirect_uri": LOOPBACK_URI}
    for data in (
        {**base, "client_id": other.client_id, "code_verifier": verifier},  # another key's client_id
        {**base, "client_id": client.client_id, "code_verifier": secrets.token_urlsafe(48)},  # wrong verifier
        {
            **base,
            "client_id": client.client_id,
            "code_verifier": verifier,
            "redirect_uri": "http://127.0.0.1:9/cb",
        },
    ):
        assert_oauth_error(requests.post(TOKEN, data=data, timeout=60), "invalid_grant")
    missing = requests.post(TOKEN, data={**base, "client_id": client.client_id}, timeout=60)
    assert_oauth_error(missing, "invalid_request")
    good = requests.post(
        TOKEN, data={**base, "client_id": client.client_id, "code_verifier": verifier}, timeout=60
    )
    assert good.status_code == 200, good.text


def test_only_a_digest_of_a_code_is_kept(admin, oauth_client, web_admin):
    client = oauth_client(scopes={"res.partner": "r"})
    url, _state, _verifier = start(app(client))
    code = query(web_admin.allow(url))["code"]
    stored = admin(
        "rest.api.oauth.code", "search_read", [("key_id", "=", client.id)], fields=["code_hash", "used"]
    )
    assert len(stored) == 1 and code not in str(stored) and stored[0]["used"] is False
    with pytest.raises(xmlrpc.client.Fault):  # nobody changes a code, an admin neither
        admin("rest.api.oauth.code", "write", [stored[0]["id"]], {"used": False})


@pytest.mark.parametrize(
    "redirect_uri",
    ["https://app.example/cb.evil.example", "https://app.example/cb/../x", "https://app.example/cbx",
     "http://localhost/cb", "http://localhost:8080/cb", "https://evil.example/cb", "com.example.e2e:/oauth/x"],
)  # fmt: skip
def test_a_redirect_that_does_not_match_is_an_error_page(oauth_client, web_admin, redirect_uri):
    client = oauth_client()
    session = app(client, redirect_uri=redirect_uri)
    url, _state, _verifier = start(session)
    response, location = web_admin.authorize(url)
    assert location is None and response.status_code == 400, (response.status_code, location)
    assert "text/html" in response.headers["Content-Type"] and "Nothing was shared" in response.text


def test_loopback_ports(oauth_client, web_admin):
    """127.0.0.1 (and [::1]) match any port; localhost matches exactly (RFC 8252 section 7.3)."""
    client = oauth_client(uris=("http://127.0.0.1/cb", "http://localhost:3000/cb"))
    for uri, ok in (("http://127.0.0.1:45678/cb", True), ("http://localhost:3000/cb", True),
                    ("http://localhost:3001/cb", False)):  # fmt: skip
        url, _state, _verifier = start(app(client, redirect_uri=uri))
        response, location = web_admin.authorize(url)
        if ok:
            assert response.status_code == 200 or (location or "").startswith(uri)
        else:
            assert location is None and response.status_code == 400


def test_unknown_client_is_an_error_page(web_admin):
    url = AUTHORIZE + "?" + urlencode({"response_type": "code", "client_id": "odooclient_nope", "redirect_uri": APP_URI,
                                       "code_challenge": "x" * 43, "code_challenge_method": "S256"})  # fmt: skip
    response, location = web_admin.authorize(url)
    assert location is None and response.status_code == 400


@pytest.mark.parametrize(
    "change, error",
    [({"response_type": "token"}, "unsupported_response_type"), ({"code_challenge_method": None}, "invalid_request"),
     ({"code_challenge_method": "plain"}, "invalid_request"), ({"code_challenge": None}, "invalid_request"),
     ({"scope": "res.users:read"}, "invalid_scope"), ({"scope": "garbage"}, "invalid_scope")],
)  # fmt: skip
def test_other_bad_requests_go_back_with_an_error_and_iss(oauth_client, web_admin, change, error):
    client = oauth_client(scopes={"res.partner": "r"})
    params = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": APP_URI,
        "state": "st-1",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }
    params.update(change)
    url = AUTHORIZE + "?" + urlencode({k: v for k, v in params.items() if v is not None})
    _response, location = web_admin.authorize(url)
    assert location and location.startswith(APP_URI + "?"), _response.text[:300]
    found = query(location)
    assert (
        found["error"] == error and found["state"] == "st-1" and found["iss"] == URL and "code" not in found
    )


def test_deny_and_csrf(oauth_client, person):
    user = person()
    client = oauth_client(scopes={"res.partner": "r"})
    session = app(client)
    url, state, _verifier = start(session)
    page, _ = user.authorize(url)
    forged, location = user.decide(page, "allow", drop=("csrf_token",))
    assert location is None and forged.status_code == 400  # Odoo's CSRF check
    _response, location = user.decide(page, "deny")
    found = query(location)
    assert found == {"error": "access_denied", "state": state, "iss": URL}


def test_consent_is_remembered_until_more_is_asked(oauth_client, person):
    user = person()
    client = oauth_client(scopes={"res.partner": "rw", "res.country": "r"})
    code_flow(client, user, scope="res.partner:read")
    url, _state, _verifier = start(app(client, scope="res.partner:read"))
    _response, location = user.authorize(url)
    assert location and "code=" in location  # allowed before: no consent page
    url, _state, _verifier = start(app(client, scope="res.partner:read,write"))
    response, location = user.authorize(url)
    assert location is None and response.status_code == 200 and "Allow" in response.text  # more: asked again


# ---------------------------------------------------------------- scope
def test_scope_narrows_the_token_and_refresh_cannot_widen(admin, oauth_client, web_admin):
    partner = admin("res.partner", "create", {"name": uniq("oauth-scope")})
    client = oauth_client(scopes={"res.partner": "rw", "res.country": "r"})
    token, session = code_flow(client, web_admin, scope="res.partner:read")
    assert token["scope"] == "res.partner:read"
    assert bearer(token["access_token"], f"/api/res.partner/{partner}").status_code == 200
    assert_problem(
        bearer(token["access_token"], f"/api/res.partner/{partner}", "PUT", json={"name": "x"}), 403
    )
    assert_problem(bearer(token["access_token"], "/api/res.country/search?limit=1"), 403)
    # the walls hold the token's scope too: a domain through another model
    walled = bearer(token["access_token"], '/api/res.partner/search?domain=[["country_id.code","=","BE"]]')
    assert_problem(walled, 403)
    widened = requests.post(TOKEN, data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"],
                                         "scope": "res.partner:read,write", "client_id": client.client_id},
                            timeout=60)  # fmt: skip
    assert_oauth_error(widened, "invalid_scope")
    same = session.refresh_token(TOKEN, refresh_token=token["refresh_token"])
    assert same["scope"] == "res.partner:read"


# ---------------------------------------------------------------- refresh
def test_refresh_rotation_and_reuse_detection(oauth_client, web_admin):
    client = oauth_client(scopes={"res.partner": "r"})
    first, session = code_flow(client, web_admin)
    second = session.refresh_token(TOKEN, refresh_token=first["refresh_token"])
    third = session.refresh_token(TOKEN, refresh_token=second["refresh_token"])
    assert len({first["refresh_token"], second["refresh_token"], third["refresh_token"]}) == 3
    assert bearer(third["access_token"]).status_code == 200
    reuse = requests.post(TOKEN, data={"grant_type": "refresh_token", "refresh_token": second["refresh_token"],
                                       "client_id": client.client_id}, timeout=60)  # fmt: skip
    assert_oauth_error(reuse, "invalid_grant")
    for body in (first, second, third):
        assert_problem(bearer(body["access_token"]), 401)


def test_refresh_token_of_another_client_or_of_a_login(oauth_client, web_admin, admin):
    client, other = oauth_client(scopes={"res.partner": "r"}), oauth_client(scopes={"res.partner": "r"})
    token, _session = code_flow(client, web_admin)
    stolen = requests.post(TOKEN, data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"],
                                        "client_id": other.client_id}, timeout=60)  # fmt: skip
    assert_oauth_error(stolen, "invalid_grant")
    # an OAuth refresh token is not a login's: /api/auth/refresh with the app's key refuses it
    assert_problem(call("POST", "/api/auth/refresh", client.secret, json={"refresh_token": token["refresh_token"]}),
                   401)  # fmt: skip
    # and a login's refresh token is no OAuth one
    login = call(
        "POST", "/api/auth/login", client.secret, json={"login": ADMIN_LOGIN, "password": ADMIN_PASSWORD}
    )
    assert login.status_code == 200, login.text
    crossed = requests.post(TOKEN, data={"grant_type": "refresh_token", "client_id": client.client_id,
                                         "refresh_token": login.json()["refresh_token"]}, timeout=60)  # fmt: skip
    assert_oauth_error(crossed, "invalid_grant")
    # the login token, alone in Authorization: Bearer, is refused: only OAuth tokens travel alone
    assert_problem(bearer(login.json()["access_token"]), 401)
    with_key = call(
        "GET", "/api/res.partner/search?limit=1", client.secret, token=login.json()["access_token"]
    )
    assert with_key.status_code == 200


def test_a_refresh_token_sent_twice_at_once_revokes_its_chain(oauth_client, web_admin):
    """Two requests exchange one refresh token at the same moment (two workers): one wins;
    the other waits for its row, fails to serialise, is run again by Odoo, finds the token
    spent and revokes the chain, the winner's new tokens included (RFC 9700 section 4.14.2).
    Several rounds, so that at least one overlaps."""
    client = oauth_client(scopes={"res.partner": "r"})
    for _round in range(5):
        token, _session = code_flow(client, web_admin)
        data = {
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": client.client_id,
        }
        barrier, answers = threading.Barrier(2), [None, None]

        def exchange_once(i, data=data, barrier=barrier, answers=answers):
            barrier.wait()
            answers[i] = requests.post(TOKEN, data=data, timeout=60)

        threads = [threading.Thread(target=exchange_once, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(a.status_code for a in answers) == [200, 400], [a.text[:200] for a in answers]
        winner = next(a for a in answers if a.status_code == 200).json()
        assert_oauth_error(next(a for a in answers if a.status_code == 400), "invalid_grant")
        assert_problem(bearer(winner["access_token"]), 401)
        again = requests.post(TOKEN, data={**data, "refresh_token": winner["refresh_token"]}, timeout=60)
        assert_oauth_error(again, "invalid_grant")


# ---------------------------------------------------------------- client credentials
@pytest.mark.parametrize("auth", ["client_secret_basic", "client_secret_post"])
def test_client_credentials(admin, employee, oauth_client, auth):
    client = oauth_client(public=False, user_id=employee.id, scopes={"ir.attachment": "rc"})
    session = app(client, auth=auth)
    token = session.fetch_token(TOKEN, grant_type="client_credentials")
    assert "refresh_token" not in token and token["scope"] == "ir.attachment:read,create"
    body = {"name": uniq("cc") + ".txt", "datas": "aGVsbG8="}
    created = bearer(token["access_token"], "/api/ir.attachment/create", "POST", json=body)
    assert created.status_code == 201, created.text
    owner = admin("ir.attachment", "read", [created.json()["id"]], ["create_uid"])[0]["create_uid"][0]
    assert owner == employee.id  # the key's user
    narrowed = session.fetch_token(TOKEN, grant_type="client_credentials", scope="ir.attachment:read")
    assert_problem(bearer(narrowed["access_token"], "/api/ir.attachment/create", "POST", json=body), 403)
    assert_problem(bearer(token["access_token"]), 403)  # res.partner: outside the key's scopes


def test_client_credentials_refused(oauth_client):
    public = oauth_client()
    with_key = requests.post(TOKEN, data={"grant_type": "client_credentials"}, auth=(public.client_id, public.secret),
                             timeout=60)  # fmt: skip
    assert_oauth_error(with_key, "unauthorized_client")
    without = requests.post(TOKEN, data={"grant_type": "client_credentials", "client_id": public.client_id},
                            timeout=60)  # fmt: skip
    body = assert_oauth_error(without, "invalid_client", 401)
    assert body and without.headers["WWW-Authenticate"]
    confidential = oauth_client(public=False)
    wrong = requests.post(TOKEN, data={"grant_type": "client_credentials"},
                          auth=(confidential.client_id, public.secret), timeout=60)  # fmt: skip
    assert_oauth_error(wrong, "invalid_client", 401)
    assert wrong.headers["WWW-Authenticate"].startswith("Basic")
    # a parameter named like oauthlib's own request fields changes nothing (user=, client=...)
    tricked = requests.post(TOKEN, data={"grant_type": "client_credentials", "user": "1", "extra_credentials": "ab"},
                            auth=(confidential.client_id, confidential.secret), timeout=60)  # fmt: skip
    assert tricked.status_code == 200 and "a" not in tricked.json()


def test_token_errors_are_rfc6749_json(oauth_client):
    client = oauth_client()
    for data, error in (({"grant_type": "password", "username": "admin", "password": "admin"}, "unsupported_grant_type"),
                        ({"grant_type": "authorization_code", "code": "nope", "code_verifier": "x" * 43,
                          "redirect_uri": APP_URI}, "invalid_grant"),
                        ({"grant_type": "refresh_token", "refresh_token": "nope"}, "invalid_grant")):  # fmt: skip
        assert_oauth_error(
            requests.post(TOKEN, data={**data, "client_id": client.client_id}, timeout=60), error
        )
    as_json = requests.post(TOKEN, json={"grant_type": "client_credentials"}, timeout=60)
    assert_oauth_error(as_json, "invalid_request")


def test_the_token_endpoint_obeys_the_clients_rate_limit_and_ip_allow_list(admin, oauth_client):
    """The client's key's limits hold on the OAuth routes too, across the server's workers (API.md section 3)."""
    client = oauth_client(public=False, scopes={"res.partner": "r"})
    admin("rest.api.key", "write", [client.id], {"rate_limit": 3, "rate_limit_period": 3600})
    auth = (client.client_id, client.secret)
    answers = [requests.post(TOKEN, data={"grant_type": "client_credentials"}, auth=auth, timeout=60)
               for _ in range(5)]  # fmt: skip
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    body = assert_oauth_error(answers[-1], "slow_down", 429)
    assert body["error_description"] and answers[-1].headers["Retry-After"]
    assert answers[-1].headers["RateLimit-Limit"] == "3" and answers[-1].headers["RateLimit-Remaining"] == "0"
    admin("rest.api.key", "write", [client.id], {"rate_limit": 0, "allowed_ips": "10.1.2.0/24"})
    for url, data in ((TOKEN, {"grant_type": "client_credentials"}), (INTROSPECT, {"token": "x"}),
                      (REVOKE, {"token": "x"})):  # fmt: skip
        assert_oauth_error(requests.post(url, data=data, auth=auth, timeout=60), "access_denied", 403)


def test_a_manager_lacking_groups_cannot_hijack_a_client_admin_allowed(admin, oauth_client, web_admin):
    """The attack: a REST API manager without Settings points an app admin allowed at his own
    address, makes it public, and sends admin a link. The key refuses him (its tokens act as
    admin), and were the app changed by someone who may, admin would see the consent page again."""
    from conftest import Rpc

    def user(groups):
        login = uniq("oauth-m")
        ids = [admin("ir.model.data", "search_read", [("module", "=", m), ("name", "=", n)], fields=["res_id"])[0]["res_id"]
               for m, n in groups]  # fmt: skip
        admin("res.users", "create", {"name": login, "login": login, "password": "Pw-" + login,
                                      "groups_id": [(6, 0, ids)]})  # fmt: skip
        return Rpc(login, "Pw-" + login)

    owner = user([("base", "group_user"), ("rest_api", "group_rest_api_user")])
    manager = user([("base", "group_user"), ("rest_api", "group_rest_api_manager")])
    client = oauth_client(public=False, user_id=owner.uid)
    code_flow(client, web_admin, redirect_uri=WEB_URI, scope="*")
    for values in ({"oauth_redirect_uris": "https://evil.example/steal"}, {"require_user_token": True}):
        with pytest.raises(xmlrpc.client.Fault):
            manager("rest.api.key", "write", [client.id], values)
    # admin (who may) adds an address: the app is asked about again there, not elsewhere
    admin(
        "rest.api.key",
        "write",
        [client.id],
        {"oauth_redirect_uris": "\n".join((WEB_URI, "https://new.example/cb"))},
    )
    url, _state, _verifier = start(app(client, redirect_uri="https://new.example/cb", scope="*"))
    response, location = web_admin.authorize(url)
    assert location is None and response.status_code == 200 and "Allow" in response.text
    url, _state, _verifier = start(app(client, redirect_uri=WEB_URI, scope="*"))
    _response, location = web_admin.authorize(url)
    assert location and location.startswith(WEB_URI + "?code=")
    grant = admin("rest.api.oauth.grant", "search", [("key_id", "=", client.id), ("user_id", "=", admin.uid)])
    with pytest.raises(xmlrpc.client.Fault):
        manager("rest.api.oauth.grant", "action_revoke", grant)
    assert manager("rest.api.oauth.grant", "search", [("id", "in", grant)]) == grant  # seen, not revoked


# ---------------------------------------------------------------- revocation, introspection, stops
def test_revoke_and_introspect(oauth_client, web_admin):
    client = oauth_client(public=False, scopes={"res.partner": "r"})
    session = app(client)
    token = session.fetch_token(TOKEN, grant_type="client_credentials")
    seen = session.introspect_token(INTROSPECT, token=token["access_token"]).json()
    assert (
        seen["active"] is True
        and seen["client_id"] == client.client_id
        and seen["scope"] == "res.partner:read"
    )
    assert seen["exp"] > time.time()
    assert session.introspect_token(INTROSPECT, token="nope").json() == {"active": False}
    assert session.revoke_token(REVOKE, token="not-a-token").status_code == 200
    assert session.revoke_token(REVOKE, token=token["access_token"]).status_code == 200
    assert_problem(bearer(token["access_token"]), 401)
    assert session.introspect_token(INTROSPECT, token=token["access_token"]).json() == {"active": False}
    # a public client may revoke its own tokens, never introspect
    public = oauth_client(scopes={"res.partner": "r"})
    theirs, public_session = code_flow(public, web_admin)
    refused = public_session.introspect_token(INTROSPECT, token=theirs["access_token"])
    assert refused.status_code in (400, 401) and "active" not in refused.text
    keyed = requests.post(INTROSPECT, data={"token": theirs["access_token"]}, auth=(public.client_id, public.secret),
                          timeout=60)  # fmt: skip
    assert keyed.status_code in (400, 401) and "active" not in keyed.text
    # another client's token: neither seen nor revoked
    assert session.introspect_token(INTROSPECT, token=theirs["access_token"]).json() == {"active": False}
    assert session.revoke_token(REVOKE, token=theirs["access_token"]).status_code == 200
    assert bearer(theirs["access_token"]).status_code == 200
    assert public_session.revoke_token(REVOKE, token=theirs["refresh_token"]).status_code == 200
    assert_problem(bearer(theirs["access_token"]), 401)


def test_grant_revoked_key_archived_user_archived(admin, oauth_client, person, web_admin):
    client = oauth_client(scopes={"res.partner": "r"})
    user = person()
    token, _ = code_flow(client, user)
    assert bearer(token["access_token"]).status_code == 200
    grant = admin("rest.api.oauth.grant", "search", [("user_id", "=", user.id), ("key_id", "=", client.id)])
    # the user revokes it (their own grant, as in their preferences)
    from conftest import Rpc

    Rpc(user.login, user.password)("rest.api.oauth.grant", "action_revoke", grant)
    assert_problem(bearer(token["access_token"]), 401)
    assert_oauth_error(requests.post(TOKEN, data={"grant_type": "refresh_token", "client_id": client.client_id,
                                                  "refresh_token": token["refresh_token"]}, timeout=60),
                       "invalid_grant")  # fmt: skip
    token, _ = code_flow(client, user)
    admin("res.users", "write", [user.id], {"active": False})
    assert_problem(bearer(token["access_token"]), 401)
    admin("res.users", "write", [user.id], {"active": True})
    token, _ = code_flow(client, web_admin)
    admin("rest.api.key", "write", [client.id], {"active": False})
    assert_problem(bearer(token["access_token"]), 401)


def test_a_user_sees_only_their_grants(admin, oauth_client, person):
    from conftest import Rpc

    client = oauth_client(scopes={"res.partner": "r"})
    first, second = person(), person()
    code_flow(client, first)
    code_flow(client, second)
    mine = Rpc(first.login, first.password)("rest.api.oauth.grant", "search_read", [], fields=["user_id"])
    assert {g["user_id"][0] for g in mine} == {first.id}
    theirs = admin("rest.api.oauth.grant", "search", [("user_id", "=", second.id)])
    with pytest.raises(xmlrpc.client.Fault):
        Rpc(first.login, first.password)("rest.api.oauth.grant", "action_revoke", theirs)
    with pytest.raises(xmlrpc.client.Fault):
        Rpc(first.login, first.password)("rest.api.oauth.grant", "write", mine[0]["id"] and [mine[0]["id"]],
                                         {"scope": "*"})  # fmt: skip


# ---------------------------------------------------------------- a person in Chromium
class Loopback:
    def __init__(self):
        hits = self.hits = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                hits.append(self.path)
                body = b"<html><body>You may close this window.</body></html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def browser():
    from cdp import Browser

    found = Browser()
    yield found
    found.close()


def _login_in_browser(page, user):
    page.wait_for("document.querySelector('input[name=password]')")
    page.type_into("document.querySelector('input[name=login]')", user.login)
    page.type_into("document.querySelector('input[name=password]')", user.password)
    page.click("document.querySelector('form.oe_login_form button[type=submit]')")


def _button(label):
    return f"[...document.querySelectorAll('button')].find(b => b.innerText.trim() === {label!r})"


def test_chromium_login_consent_allow(oauth_client, person, browser):
    """A person in Chromium: Odoo's login page, the consent page (screenshot), Allow; the
    browser brings code, state and iss to the app's loopback listener on its own port."""
    user = person()
    client = oauth_client(scopes={"res.partner": "r", "res.country": "r"})
    listener = Loopback()
    try:
        redirect_uri = f"http://127.0.0.1:{listener.port}/cb"
        session = app(client, redirect_uri=redirect_uri)
        url, state, verifier = start(session)
        page = browser.page
        page.goto(url)
        assert urlsplit(page.url()).path == "/web/login"
        _login_in_browser(page, user)
        page.wait_for(_button("Allow"))
        text = page.text()
        assert client.name in text and user.login in text and "res.partner" in text and "res.country" in text
        page.screenshot(SCREENSHOT)
        page.click(_button("Allow"))
        deadline = time.time() + 20
        while not listener.hits and time.time() < deadline:
            time.sleep(0.1)
        assert listener.hits, page.url()
        location = redirect_uri.rsplit("/", 1)[0] + listener.hits[0]
        params = query(location)
        assert params["state"] == state and params["iss"] == URL and params["code"]
        token = exchange(session, location, verifier, state)
        assert bearer(token["access_token"]).status_code == 200
    finally:
        listener.close()


def test_chromium_deny_with_a_private_scheme(oauth_client, person, browser):
    user = person()
    client = oauth_client(scopes={"res.partner": "r"})
    url, state, _verifier = start(app(client, redirect_uri=APP_URI))
    page = browser.page
    page.goto(url)
    _login_in_browser(page, user)
    page.wait_for(_button("Deny"))
    page.click(_button("Deny"))
    deadline = time.time() + 10
    found = []
    while not found and time.time() < deadline:
        found = [u for u in browser.redirects() if u.startswith(APP_URI)]
    assert found, browser.redirects()
    assert query(found[0]) == {"error": "access_denied", "state": state, "iss": URL}


def test_swagger_ui_authorize_pkce_then_try_it_out(oauth_client, browser):
    """Swagger UI's Authorize runs the PKCE flow against this server (the popup logs in and
    allows), then Try it out on search sends the OAuth access token alone."""
    client = oauth_client(scopes={"res.partner": "r"})
    page = browser.page
    page.goto(URL + "/web/login")
    _login_in_browser(page, WebUser(ADMIN_LOGIN, ADMIN_PASSWORD))
    page.wait_for("location.pathname.startsWith('/odoo')", timeout=60)
    page.goto(URL + "/api/docs")
    page.wait_for("document.querySelector('.swagger-ui .opblock')", timeout=60)
    page.click("document.querySelector('.swagger-ui .auth-wrapper .authorize')")
    page.wait_for("document.querySelector('.modal-ux .auth-container')")
    box = "[...document.querySelectorAll('.modal-ux .auth-container')].find(b => /authorizationCode/i.test(b.innerText))"
    page.type_into(
        f"{box}.querySelector('input[id^=client_id], input[data-name=clientId]')", client.client_id
    )
    known = browser.page_ids()
    page.click(f"{box}.querySelector('button.authorize')")
    popup = browser.attach(browser.new_page_target(known))
    popup.wait_for(_button("Allow"))
    params = query(popup.url())  # the consent page is served at the authorization request's URL
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) >= 43, params
    assert params["client_id"] == client.client_id and params["redirect_uri"] == SWAGGER_REDIRECT
    popup.click(_button("Allow"))
    page.wait_for(f"{box} && /logout/i.test({box}.innerText)", timeout=30)
    sent = [(u, h) for u, h in browser.requests() if u.startswith(URL + "/api/oauth/token")]
    assert sent, "Swagger UI did not exchange the code"
    page.click("document.querySelector('.modal-ux .close-modal')")
    search = (
        "[...document.querySelectorAll('.opblock')].find(o => o.querySelector('.opblock-summary-path')"
        " && o.querySelector('.opblock-summary-path').innerText.replace(/\\u200b/g, '') === '/api/{model}/search')"
    )
    page.click(f"{search}.querySelector('.opblock-summary')")
    page.click(f"{search}.querySelector('.try-out__btn')")
    page.type_into(f"{search}.querySelector('input[placeholder=model]')", "res.partner")
    page.click(f"{search}.querySelector('.execute')")
    page.wait_for(f"{search}.querySelector('.live-responses-table tbody .response-col_status')", timeout=30)
    status = page.evaluate(
        f"{search}.querySelector('.live-responses-table tbody .response-col_status').innerText"
    )
    assert status.strip().startswith("200"), status
    calls = [(u, h) for u, h in browser.requests() if "/api/res.partner/search" in u]
    assert calls and calls[-1][1].get("Authorization", "").startswith("Bearer ey"), calls
    assert "api-key" not in {k.lower() for k in calls[-1][1]}
