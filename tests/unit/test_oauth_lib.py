"""lib.oauth: OAuth 2.0 scopes, redirect URIs and codes (API.md section 14), and the credentials rule."""

import base64

import pytest

from lib import credentials, limits, oauth
from lib.errors import Unauthorized


# ---------------------------------------------------------------- scopes
def test_parse_scope_merges_and_normalises():
    found = oauth.parse_scope("res.partner:write,read sale.order:read res.partner:delete")
    assert found == {"res.partner": {"read", "write", "delete"}, "sale.order": {"read"}}
    assert oauth.format_scope(found) == "res.partner:read,write,delete sale.order:read"
    assert oauth.parse_scope("*") is None
    assert oauth.format_scope(None) == "*"


@pytest.mark.parametrize(
    "text",
    ["", "   ", "res.partner", "res.partner:", "res.partner:fly", "Res.Partner:read", "a:read *",
     "res.partner:read,", "../x:read", "res.partner:read;drop"],
)  # fmt: skip
def test_parse_scope_refuses(text):
    with pytest.raises(ValueError) as info:
        oauth.parse_scope(text)
    assert "drop" not in str(info.value) and "fly" not in str(info.value)


def test_narrow_never_widens():
    key = {"res.partner": frozenset({"read", "write"}), "acc.item": frozenset({"read"})}
    asked = {"res.partner": {"read", "delete"}, "res.users": {"read"}}
    assert oauth.narrow(key, asked) == {"res.partner": {"read"}}
    assert oauth.narrow(key, None) == key
    assert oauth.narrow(None, asked) == asked
    assert oauth.narrow(None, None) is None
    assert oauth.narrow(key, {"res.users": {"read"}}) == {}


def test_within_and_union():
    allowed = {"res.partner": {"read", "write"}}
    assert oauth.within({"res.partner": {"read"}}, allowed)
    assert not oauth.within({"res.partner": {"delete"}}, allowed)
    assert not oauth.within({"acc.item": {"read"}}, allowed)
    assert not oauth.within(None, allowed)  # everything is more than a list
    assert oauth.within(None, None) and oauth.within(allowed, None)
    assert oauth.union(allowed, {"acc.item": {"read"}}) == {
        "res.partner": {"read", "write"},
        "acc.item": {"read"},
    }
    assert oauth.union(allowed, None) is None


# ---------------------------------------------------------------- redirect URIs
REGISTERED = ["com.example.app:/oauth", "http://127.0.0.1/cb", "https://app.example/cb", "http://[::1]/cb",
              "http://localhost:3000/cb"]  # fmt: skip


@pytest.mark.parametrize(
    "uri",
    ["com.example.app:/oauth", "https://app.example/cb", "http://127.0.0.1/cb", "http://127.0.0.1:54321/cb",
     "http://[::1]:8080/cb", "http://localhost:3000/cb"],
)  # fmt: skip
def test_redirect_matches(uri):
    assert oauth.redirect_matches(REGISTERED, uri)


@pytest.mark.parametrize(
    "uri",
    [
        "https://app.example/cb/../evil", "https://app.example/cb.evil", "https://app.example/cbx",
        "https://app.example/cb?x=1", "https://app.example.evil/cb", "https://app.example/cb#x",
        "http://127.0.0.1:54321/cb/x", "http://127.0.0.1:54321/cbx", "http://127.0.0.1:80@evil.example/cb",
        "https://127.0.0.1:54321/cb", "http://localhost:3001/cb", "http://localhost/cb", "HTTP://127.0.0.1:1/cb",
        "com.example.app:/oauth/x", "com.example.app://oauth", "", None, "http://127.0.0.2:1/cb",
    ],
)  # fmt: skip
def test_redirect_refused(uri):
    """Exact match: prefixes, paths, hosts, schemes differ; only a loopback IP literal's port may."""
    assert not oauth.redirect_matches(REGISTERED, uri)


def test_parse_redirect_uris():
    assert oauth.parse_redirect_uris("\n com.example.app:/oauth \n\nhttp://127.0.0.1/cb\n") == [
        "com.example.app:/oauth", "http://127.0.0.1/cb"
    ]  # fmt: skip
    assert oauth.parse_redirect_uris(False) == []
    for bad in ("/relative", "https://app.example/cb#frag", "javascript:alert(1)", "http://app.example/cb",
                "https://user:pw@app.example/cb", "no scheme", "https:///cb"):  # fmt: skip
        with pytest.raises(ValueError):
            oauth.parse_redirect_uris(bad)


def test_redirect_uris_only_shrink_without_a_manager():
    old = {"oauth_redirect_uris": "https://a.example/cb\nhttps://b.example/cb"}
    assert limits.loosened(old, {"oauth_redirect_uris": "https://a.example/cb"}) == []
    assert limits.loosened(old, {"oauth_redirect_uris": "https://c.example/cb"}) == ["oauth_redirect_uris"]
    assert limits.loosened(
        {"oauth_redirect_uris": False}, {"oauth_redirect_uris": "https://c.example/cb"}
    ) == ["oauth_redirect_uris"]


# ---------------------------------------------------------------- ids, codes, credentials
def test_client_ids_and_codes():
    first, second = oauth.new_client_id(), oauth.new_client_id()
    assert first != second and first.startswith(oauth.CLIENT_ID_PREFIX) and len(first) >= 30
    assert oauth.hash_code("abc") != "abc" and len(oauth.hash_code("abc")) == 64
    assert oauth.hash_code("abc") == oauth.hash_code("abc") != oauth.hash_code("abd")


JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"


def test_a_bearer_jwt_alone_is_marked():
    alone = credentials.extract({"Authorization": "Bearer " + JWT}, {})
    assert alone.key is None and alone.token == JWT and alone.bearer_alone
    with_key = credentials.extract({"Authorization": "Bearer " + JWT, "api-key": "odoorest_x"}, {})
    assert with_key.token == JWT and not with_key.bearer_alone
    header = credentials.extract({"token": JWT}, {})
    assert header.token == JWT and not header.bearer_alone  # only Authorization: Bearer carries it alone
    with pytest.raises(Unauthorized):
        credentials.extract({}, {"access_token": JWT})


# ---------------------------------------------------------------- the client a request names, its refusals
def test_client_ids_look_like_ours_only():
    assert oauth.looks_like_client_id(oauth.new_client_id())
    for text in (
        None,
        7,
        "odooclient_",
        "odooclient_\x00",
        "odooclient_a b",
        "odooclient_" + "a" * 81,
        "other_x",
    ):
        assert not oauth.looks_like_client_id(text)


def test_parse_basic():
    assert oauth.parse_basic(None) is None and oauth.parse_basic("Bearer abc") is None
    assert oauth.parse_basic("Basic " + base64.b64encode(b"odooclient_a:s%3Acret").decode()) == (
        "odooclient_a",
        "s:cret",
    )
    for header in (
        "Basic !!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b"\xff:x").decode(),
    ):
        with pytest.raises(ValueError):
            oauth.parse_basic(header)


def test_sent_client_one_method_only():
    basic = "Basic " + base64.b64encode(b"odooclient_a:secret").decode()
    assert oauth.sent_client(basic, {}) == ("odooclient_a", "secret")
    assert oauth.sent_client(basic, {"client_id": "odooclient_a"}) == ("odooclient_a", "secret")
    assert oauth.sent_client(basic, {"client_id": "odooclient_b"}) is None
    assert oauth.sent_client(basic, {"client_secret": "other"}) is None
    assert oauth.sent_client("Basic !!", {"client_id": "odooclient_a"}) is None
    assert oauth.sent_client(None, {"client_id": "odooclient_a", "client_secret": "s"}) == (
        "odooclient_a",
        "s",
    )
    assert oauth.sent_client(None, {"client_id": "odooclient_a"}) == ("odooclient_a", "")
    assert oauth.sent_client(None, {"grant_type": "client_credentials"}) is None


def test_error_body_is_rfc6749s():
    assert oauth.error_body(429, "At most 3") == {"error": "slow_down", "error_description": "At most 3"}
    assert oauth.error_body(403, "x")["error"] == "access_denied"
    assert oauth.error_body(413, "x")["error"] == "invalid_request"
    assert oauth.error_body(500, "x")["error"] == "server_error"


def test_grant_scope_tells_grants_and_scopes_apart():
    read = {"res.partner": frozenset({"read"})}
    assert oauth.grant_scope(3, read) == "3:res.partner:read"
    assert oauth.grant_scope(None, None) == "0:*"
    assert len({oauth.grant_scope(3, read), oauth.grant_scope(4, read), oauth.grant_scope(3, None)}) == 3
