"""OAuth 2.0 for apps (API.md section 14), through Odoo's test HTTP server."""

import base64
import hashlib
import json
import re
import secrets
from datetime import timedelta
from types import SimpleNamespace
from unittest.mock import patch
from urllib.parse import parse_qsl, urlencode, urlsplit

from psycopg2.errors import SerializationFailure

from odoo import fields
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import new_test_user, tagged

from .common import RestApiCase

APP_URI = "com.example.test:/oauth"


def pkce():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


class OauthCase(RestApiCase):
    """Two OAuth clients: a public app (PKCE) and a partner's server (confidential)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.person = new_test_user(
            cls.env, login="oauth_person", password="oauth-person-pw", groups="base.group_user"
        )
        cls.env["ir.config_parameter"].sudo().set_param("web.base.url", "http://issuer.example")
        Key = cls.env["rest.api.key"]
        cls.app = Key.browse(Key.generate({
            "name": "Test app", "user_id": cls.admin.id, "all_models": False, "rate_limit": 0,
            "require_user_token": True, "oauth_redirect_uris": APP_URI + "\nhttp://127.0.0.1/cb",
            "scope_ids": [cls.scope("res.partner", "rw"), cls.scope("res.country", "r")],
        })["id"])  # fmt: skip
        cls.server = Key.browse(Key.generate({
            "name": "Partner server", "user_id": cls.limited.id, "all_models": False, "rate_limit": 0,
            "oauth_redirect_uris": "https://partner.example/cb", "scope_ids": [cls.scope("res.partner", "r")],
        })["id"])  # fmt: skip
        cls.server_secret = cls.env["rest.api.key"].browse(cls.server.id)._new_secret()

    # ------------------------------------------------------------ helpers
    def authorize(self, scope=None, redirect_uri=APP_URI, allow=True):
        verifier, challenge = pkce()
        params = {"response_type": "code", "client_id": self.app.oauth_client_id, "redirect_uri": redirect_uri,
                  "state": "st", "code_challenge": challenge, "code_challenge_method": "S256"}  # fmt: skip
        if scope:
            params["scope"] = scope
        page = self.opener.get(
            self.base_url() + "/api/oauth/authorize?" + urlencode(params), allow_redirects=False
        )
        if page.status_code == 302:
            return page.headers["Location"], verifier
        self.assertEqual(page.status_code, 200, page.text[:500])
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        answer = self.opener.post(
            self.base_url() + "/api/oauth/authorize",
            data={**params, "csrf_token": csrf, "decision": "allow" if allow else "deny"},
            allow_redirects=False,
        )
        self.assertEqual(answer.status_code, 302, answer.text[:500])
        return answer.headers["Location"], verifier

    def token(self, auth=None, **data):
        return self.opener.post(self.base_url() + "/api/oauth/token", data=data, auth=auth, timeout=30)

    def code_flow(self, scope=None):
        self.authenticate("oauth_person", "oauth-person-pw")
        location, verifier = self.authorize(scope)
        code = dict(parse_qsl(urlsplit(location).query))["code"]
        answer = self.token(grant_type="authorization_code", code=code, code_verifier=verifier,
                            redirect_uri=APP_URI, client_id=self.app.oauth_client_id)  # fmt: skip
        self.assertEqual(answer.status_code, 200, answer.text)
        return answer.json()

    def alone(self, token, path="/api/res.partner/search", **kw):
        return self.call("GET", path, key=False, headers={"Authorization": "Bearer " + token}, **kw)

    def make_key_id(self, user, **values):
        values = dict({"name": "k", "user_id": user.id, "all_models": True, "rate_limit": 0}, **values)
        return self.env["rest.api.key"].generate(values)["id"]


@tagged("post_install", "-at_install")
class TestOauth(OauthCase):
    # ------------------------------------------------------------ keys as clients
    def test_keys_are_clients(self):
        self.assertTrue(self.app.oauth_client_id.startswith("odooclient_"))
        self.assertNotEqual(self.app.oauth_client_id, self.server.oauth_client_id)
        self.assertEqual(
            (self.app.oauth_client_type, self.server.oauth_client_type), ("public", "confidential")
        )
        with self.assertRaises(ValidationError):
            self.server.oauth_redirect_uris = "https://partner.example/cb#fragment"
        with self.assertRaises(AccessError):
            self.server.with_user(self.admin).write({"oauth_client_id": "odooclient_mine"})

    def test_only_a_manager_adds_redirect_uris(self):
        owner = new_test_user(
            self.env, login="oauth_owner", groups="base.group_user,rest_api.group_rest_api_user"
        )
        key = self.env["rest.api.key"].browse(
            self.make_key_id(owner, oauth_redirect_uris="https://a.example/cb\nhttps://b.example/cb")
        )
        mine = key.with_user(owner)
        mine.write({"oauth_redirect_uris": "https://a.example/cb"})  # removing one tightens
        with self.assertRaises(AccessError):
            mine.write({"oauth_redirect_uris": "https://a.example/cb\nhttps://evil.example/cb"})
        with self.assertRaises(AccessError):
            self.env["rest.api.key"].with_user(owner).create(
                {"name": "x", "oauth_redirect_uris": "https://c.example/cb"}
            )

    # ------------------------------------------------------------ flows
    def test_code_flow_scope_and_bearer_alone(self):
        body = self.code_flow("res.partner:read")
        self.assertEqual(body["scope"], "res.partner:read")
        self.assertEqual(self.alone(body["access_token"], params={"limit": 1}).status_code, 200)
        # narrowed: the key may write partners, this token may not
        partner = self.env["res.partner"].create({"name": "oauth target"})
        answer = self.call("PUT", f"/api/res.partner/{partner.id}", key=False, body={"name": "x"},
                           headers={"Authorization": "Bearer " + body["access_token"]})  # fmt: skip
        self.assertProblem(answer, 403)
        self.assertProblem(self.alone(body["access_token"], "/api/res.country/search"), 403)
        token = self.env["rest.api.token"].sudo().search([("oauth", "=", True), ("token_type", "=", "access")],
                                                         limit=1)  # fmt: skip
        self.assertEqual(
            (token.user_id, token.key_id, token.scope), (self.person, self.app, "res.partner:read")
        )
        grant = self.env["rest.api.oauth.grant"].sudo().search([("user_id", "=", self.person.id)])
        self.assertEqual((grant.key_id, grant.scope), (self.app, "res.partner:read"))

    def test_a_login_token_alone_is_refused(self):
        answer = self.call("POST", "/api/generate_token", key=self.key,
                           body={"user_id": self.admin.id, "expiration_days": 1})  # fmt: skip
        login_token = answer.json()["login_token"]
        self.assertProblem(self.alone(login_token), 401)
        self.assertEqual(
            self.call("GET", "/api/res.partner/search", headers={"token": login_token}).status_code, 200
        )

    def test_a_code_lives_60_seconds_and_works_once(self):
        self.authenticate("oauth_person", "oauth-person-pw")
        location, verifier = self.authorize()
        code = dict(parse_qsl(urlsplit(location).query))["code"]
        stored = self.env["rest.api.oauth.code"].sudo().search([("key_id", "=", self.app.id)])
        self.assertNotEqual(stored.code_hash, code)
        self.assertLessEqual(stored.expiration_date, fields.Datetime.now() + timedelta(seconds=61))
        stored.write({"expiration_date": fields.Datetime.now() - timedelta(seconds=1)})
        data = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier, "redirect_uri": APP_URI,
                "client_id": self.app.oauth_client_id}  # fmt: skip
        self.assertEqual(self.token(**data).json()["error"], "invalid_grant")
        stored.write({"expiration_date": fields.Datetime.now() + timedelta(seconds=30)})
        first = self.token(**data)
        self.assertEqual(first.status_code, 200)
        second = self.token(**data)
        self.assertEqual(second.json()["error"], "invalid_grant")
        self.assertProblem(self.alone(first.json()["access_token"]), 401)  # revoked with its code

    def test_redirects_carry_iss(self):
        self.authenticate("oauth_person", "oauth-person-pw")
        location, _verifier = self.authorize(allow=False)
        self.assertEqual(
            dict(parse_qsl(urlsplit(location).query)),
            {"error": "access_denied", "state": "st", "iss": "http://issuer.example"},
        )
        location, _verifier = self.authorize()
        self.assertEqual(dict(parse_qsl(urlsplit(location).query))["iss"], "http://issuer.example")

    def test_client_credentials_and_introspection(self):
        auth = (self.server.oauth_client_id, self.server_secret)
        body = self.token(auth=auth, grant_type="client_credentials").json()
        self.assertEqual(body["scope"], "res.partner:read")
        self.assertNotIn("refresh_token", body)
        self.assertEqual(self.alone(body["access_token"], params={"limit": 1}).status_code, 200)
        seen = self.opener.post(self.base_url() + "/api/oauth/introspect", data={"token": body["access_token"]},
                                auth=auth).json()  # fmt: skip
        self.assertEqual((seen["active"], seen["sub"]), (True, str(self.limited.id)))
        refused = self.token(grant_type="client_credentials", client_id=self.app.oauth_client_id)
        self.assertEqual((refused.status_code, refused.json()["error"]), (401, "invalid_client"))
        self.assertTrue(refused.headers["WWW-Authenticate"])

    def test_grants_are_seen_by_their_user_and_managers(self):
        body = self.code_flow()
        other = new_test_user(self.env, login="oauth_other", groups="base.group_user")
        Grant = self.env["rest.api.oauth.grant"]
        self.assertEqual(len(Grant.with_user(self.person).search([])), 1)
        self.assertFalse(Grant.with_user(other).search([]))
        self.assertEqual(len(Grant.search([])), 1)  # an admin sees every grant
        grant = Grant.with_user(self.person).search([])
        with self.assertRaises(AccessError):
            grant.with_user(other).action_revoke()
        with self.assertRaises(AccessError):
            grant.write({"scope": "*"})
        self.assertIn(grant, self.person.with_user(self.person).rest_api_oauth_grant_ids)
        grant.action_revoke()
        self.assertProblem(self.alone(body["access_token"]), 401)
        refreshed = self.token(grant_type="refresh_token", refresh_token=body["refresh_token"],
                               client_id=self.app.oauth_client_id)  # fmt: skip
        self.assertEqual(refreshed.json()["error"], "invalid_grant")

    def test_metadata(self):
        doc = self.opener.get(self.base_url() + "/.well-known/oauth-authorization-server").json()
        self.assertEqual(doc["issuer"], "http://issuer.example")
        self.assertEqual(doc["token_endpoint"], "http://issuer.example/api/oauth/token")
        self.assertEqual(doc["code_challenge_methods_supported"], ["S256"])
        self.assertNotIn("implicit", doc["grant_types_supported"])


@tagged("post_install", "-at_install")
class TestOauthAttacks(OauthCase):
    """The findings of the security review of the OAuth server: each fails without its fix."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(
            cls.env, login="oauth_manager", groups="base.group_user,rest_api.group_rest_api_manager"
        )
        cls.Grant = cls.env["rest.api.oauth.grant"]

    def bearer(self, method, path, token, **kw):
        return self.call(method, path, key=False, headers={"Authorization": "Bearer " + token, **kw.pop("headers", {})},
                         **kw)  # fmt: skip

    def authorize_status(self, redirect_uri=APP_URI, key=None):
        """The status of the authorization request: 200 the consent page, 302 a code at once."""
        params = {"response_type": "code", "client_id": (key or self.app).oauth_client_id, "state": "st",
                  "redirect_uri": redirect_uri, "code_challenge": pkce()[1], "code_challenge_method": "S256"}  # fmt: skip
        page = self.opener.get(
            self.base_url() + "/api/oauth/authorize?" + urlencode(params), allow_redirects=False
        )
        return page.status_code

    def client_credentials(self, scope=None):
        data = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
        return self.token(auth=(self.server.oauth_client_id, self.server_secret), **data)

    # ------------------------------------------------------------ H1: a manager hijacking a client
    def test_h1_a_manager_lacking_groups_cannot_change_a_client_admin_allowed(self):
        owner = new_test_user(
            self.env, login="oauth_k_owner", groups="base.group_user,rest_api.group_rest_api_user"
        )
        key = self.env["rest.api.key"].browse(
            self.make_key_id(owner, oauth_redirect_uris="https://app.example/cb")
        )
        as_manager = key.with_user(self.manager)
        as_manager.write({"name": "K"})  # the manager holds every group of the owner
        grant = self.Grant._allow(key.id, self.admin.id, None, "https://app.example/cb", False)
        for values in ({"oauth_redirect_uris": "https://evil.example/steal"}, {"require_user_token": True},
                       {"name": "K2"}):  # fmt: skip
            with self.assertRaises(AccessError):
                as_manager.write(values)
        with self.assertRaises(AccessError):
            as_manager._new_secret()
        with self.assertRaises(AccessError):
            self.env["rest.api.scope"].with_user(self.manager).create(
                {"key_id": key.id, "model_id": self.env["ir.model"]._get_id("res.users"), "perm_write": True}
            )
        grant.action_revoke()  # no user above the manager acts through it any more
        as_manager.write({"require_user_token": True})

    def test_h1_consent_is_asked_again_for_a_new_redirect_uri_or_client_type(self):
        self.code_flow()
        self.assertEqual(self.authorize_status(), 302)  # remembered
        self.app.write({"oauth_redirect_uris": APP_URI + "\nhttp://127.0.0.1/cb\nhttps://new.example/cb"})
        self.assertEqual(self.authorize_status("https://new.example/cb"), 200)
        self.assertEqual(self.authorize_status(), 302)  # still remembered where it was allowed
        self.app.write({"require_user_token": False})  # now a confidential client
        self.assertEqual(self.authorize_status(), 200)
        location, _verifier = self.authorize()  # allowed again, as a confidential client
        self.assertIn("code=", location)
        self.assertEqual(self.authorize_status(), 302)

    # ------------------------------------------------------------ H2: what an OAuth token leaves behind
    def test_h2_a_subscription_of_an_oauth_token_stops_with_its_grant_and_sees_its_scope(self):
        self.env["ir.config_parameter"].sudo().set_param("rest_api.webhook_allow_private", "True")
        narrow = self.code_flow("res.partner:read")["access_token"]
        made = self.bearer("POST", "/api/webhooks", narrow, data=json.dumps(
            {"url": "http://127.0.0.1:9/hook", "model_id": "res.partner", "events": ["create"]}
        ), headers={"Content-Type": "application/json"})  # fmt: skip
        self.assertEqual(made.status_code, 201, made.text)
        hook = self.env["rest.api.webhook"].browse(made.json()["id"])
        grant = self.Grant.search([("key_id", "=", self.app.id), ("user_id", "=", self.person.id)])
        self.assertEqual((hook.grant_id, hook.oauth_scope), (grant, "res.partner:read"))
        subs = {s.id: s for s in self.env["rest.api.webhook"]._subscriptions().get("res.partner", ())}
        self.assertEqual(subs[hook.id].scopes, {"res.partner": frozenset({"read"})})  # not the key's
        # a token of another scope of the same pair is another caller
        wide = self.code_flow("res.partner:read,write")["access_token"]
        self.assertEqual(self.bearer("GET", "/api/webhooks", wide).json(), [])
        self.assertEqual([h["id"] for h in self.bearer("GET", "/api/webhooks", narrow).json()], [hook.id])
        grant.action_revoke()
        self.assertFalse(hook._pair_active())
        self.assertNotIn(
            hook.id, [s.id for s in self.env["rest.api.webhook"]._subscriptions().get("res.partner", ())]
        )
        with self.assertRaises(AccessError):
            hook.with_user(self.admin).write({"grant_id": False})

    def test_h2_cursors_of_a_narrow_token_are_not_a_wider_ones(self):
        narrow = self.code_flow("res.partner:read")["access_token"]
        wide = self.code_flow("res.partner:read,write")["access_token"]
        page = self.bearer("GET", "/api/res.partner/search?limit=1&order=id&fields=name", narrow)
        self.assertEqual(page.status_code, 200, page.text)
        following = re.search(r'<([^>]*cursor=[^>]*)>; rel="next"', page.headers["Link"]).group(1)
        self.assertEqual(self.bearer("GET", following, narrow).status_code, 200)
        self.assertProblem(self.bearer("GET", following, wide), 400)
        self.env["rest.api.sync.model"].create({"model_id": self.env["ir.model"]._get_id("res.partner")})
        feed = self.bearer("GET", "/api/res.partner/changes?limit=1&fields=name", narrow)
        self.assertEqual(feed.status_code, 200, feed.text)
        cursor = feed.json()["cursor"]
        self.assertEqual(self.bearer("GET", "/api/res.partner/changes", narrow, params={"cursor": cursor}).status_code,
                         200)  # fmt: skip
        self.assertProblem(
            self.bearer("GET", "/api/res.partner/changes", wide, params={"cursor": cursor}), 400
        )

    def test_a_subscription_made_through_a_data_route_belongs_to_the_tokens_grant(self):
        """Second round: a subscription made with an OAuth token by the data routes (or
        execute_kw generate) is bound like one made by /api/webhooks."""
        self.env["ir.config_parameter"].sudo().set_param("rest_api.webhook_allow_private", "True")
        self.app.write(
            {
                "scope_ids": [
                    self.scope(model, "rc" if model == "rest.api.webhook" else "r")
                    for model in ("rest.api.webhook", "ir.model", "res.users", "rest.api.key")
                ]
            }
        )
        self.authenticate("admin", "admin")  # the key's owner allows it: the rules let it subscribe
        location, verifier = self.authorize()
        code = dict(parse_qsl(urlsplit(location).query))["code"]
        token = self.token(grant_type="authorization_code", code=code, code_verifier=verifier,
                           redirect_uri=APP_URI, client_id=self.app.oauth_client_id).json()["access_token"]  # fmt: skip
        made = self.bearer("POST", "/api/rest.api.webhook/create", token, data=json.dumps({
            "name": "persist", "url": "http://127.0.0.1:9/persist", "events": "create",
            "model_id": self.env["ir.model"]._get_id("res.partner"), "key_id": self.app.id, "user_id": self.admin.id,
        }), headers={"Content-Type": "application/json"})  # fmt: skip
        self.assertEqual(made.status_code, 201, made.text)
        hook = self.env["rest.api.webhook"].browse(made.json()["id"])
        grant = self.Grant.search([("key_id", "=", self.app.id), ("user_id", "=", self.admin.id)])
        self.assertEqual(hook.grant_id, grant)
        self.assertTrue(hook.oauth_scope)
        grant.action_revoke()
        self.assertFalse(hook._pair_active())
        with self.assertRaises(AccessError):  # nobody but the token that makes it names a grant
            self.env["rest.api.webhook"].with_user(self.admin).create({
                "name": "x", "url": "http://127.0.0.1:9/x", "events": "create", "key_id": self.app.id,
                "model_id": self.env["ir.model"]._get_id("res.partner"), "grant_id": grant.id,
            })  # fmt: skip

    def test_a_confidential_clients_refresh_token_needs_its_secret_once_the_key_turns_public(self):
        self.app.write({"require_user_token": False})  # a confidential client
        secret = self.app._new_secret()
        self.authenticate("oauth_person", "oauth-person-pw")
        location, verifier = self.authorize()
        code = dict(parse_qsl(urlsplit(location).query))["code"]
        body = self.token(auth=(self.app.oauth_client_id, secret), grant_type="authorization_code", code=code,
                          code_verifier=verifier, redirect_uri=APP_URI).json()  # fmt: skip
        self.assertIn("refresh_token", body)
        self.app.write({"require_user_token": True})  # its owner may: it tightens the key
        alone = self.token(grant_type="refresh_token", refresh_token=body["refresh_token"],
                           client_id=self.app.oauth_client_id)  # fmt: skip
        self.assertEqual(alone.status_code, 400, alone.text)
        self.assertEqual(alone.json()["error"], "invalid_grant")
        with_secret = self.token(auth=(self.app.oauth_client_id, secret), grant_type="refresh_token",
                                 refresh_token=body["refresh_token"])  # fmt: skip
        self.assertEqual(with_secret.status_code, 200, with_secret.text)

    # ------------------------------------------------------------ H3: kept answers
    def test_h3_a_kept_answer_is_not_replayed_to_a_narrower_token(self):
        wide = self.code_flow("res.partner:read,write")["access_token"]
        narrow = self.code_flow("res.partner:read")["access_token"]
        partner = self.env["res.partner"].create({"name": "kept"})
        self.person.groups_id += self.env.ref("base.group_partner_manager")  # may write partners
        batch = json.dumps({"operations": [{"method": "PATCH", "path": f"/api/res.partner/{partner.id}",
                                            "body": {"name": "kept for the wide token"}}]})  # fmt: skip
        headers = {"Content-Type": "application/json", "Idempotency-Key": "oauth-h3"}
        first = self.bearer("POST", "/api/batch", wide, data=batch, headers=headers)
        self.assertEqual(first.status_code, 200, first.text)
        replayed = self.bearer("POST", "/api/batch", wide, data=batch, headers=headers)
        self.assertEqual(replayed.headers.get("Idempotent-Replayed"), "true")
        refused = self.bearer("POST", "/api/batch", narrow, data=batch, headers=headers)
        self.assertNotIn("Idempotent-Replayed", refused.headers)
        self.assertProblem(refused, 403)

    # ------------------------------------------------------------ H4: the client's key's limits
    def test_h4_the_token_endpoint_counts_against_the_clients_rate_limit(self):
        self.server.write({"rate_limit": 3, "rate_limit_period": 3600})
        answers = [self.client_credentials() for _ in range(5)]
        self.assertEqual([a.status_code for a in answers], [200, 200, 200, 429, 429])
        refused = answers[-1]
        self.assertEqual(refused.headers["Content-Type"].split(";")[0], "application/json")
        self.assertEqual(refused.json()["error"], "slow_down")
        self.assertIn("no-store", refused.headers["Cache-Control"])
        self.assertTrue(refused.headers["Retry-After"])
        self.assertEqual(refused.headers["RateLimit-Limit"], "3")
        self.assertEqual(answers[0].headers["RateLimit-Remaining"], "2")
        # a request that does not prove the client is not counted against it
        wrong = self.token(
            auth=(self.server.oauth_client_id, "odoo_" + "x" * 40), grant_type="client_credentials"
        )
        self.assertEqual((wrong.status_code, wrong.json()["error"]), (401, "invalid_client"))

    def test_h4_the_oauth_routes_obey_the_clients_ip_allow_list(self):
        self.server.write({"allowed_ips": "10.1.2.0/24"})
        auth = (self.server.oauth_client_id, self.server_secret)
        for path, data in (("/api/oauth/token", {"grant_type": "client_credentials"}),
                           ("/api/oauth/introspect", {"token": "x"}), ("/api/oauth/revoke", {"token": "x"})):  # fmt: skip
            answer = self.opener.post(self.base_url() + path, data=data, auth=auth, timeout=30)
            self.assertEqual((answer.status_code, answer.json()["error"]), (403, "access_denied"), path)
            self.assertNotIn("access_token", answer.text)
        public = self.code_flow()
        self.app.write({"allowed_ips": "10.1.2.0/24"})
        refreshed = self.token(grant_type="refresh_token", refresh_token=public["refresh_token"],
                               client_id=self.app.oauth_client_id)  # fmt: skip
        self.assertEqual((refreshed.status_code, refreshed.json()["error"]), (403, "access_denied"))

    # ------------------------------------------------------------ H5: a refresh token used twice at once
    def test_h5_a_serialisation_failure_is_not_swallowed(self):
        from ..controllers.oauth import Client, OdooValidator

        info = self.env["rest.api.key"]._find_client(self.app.oauth_client_id)
        Token = type(self.env["rest.api.token"])
        with patch.object(Token, "_use_refresh", side_effect=SerializationFailure("concurrent update")):
            with self.assertRaises(SerializationFailure):
                OdooValidator(self.env).validate_refresh_token(
                    "odoorefresh_x", Client(info.oauth_client_id, info), SimpleNamespace()
                )

    # ------------------------------------------------------------ minor, observations
    def test_a_nul_in_the_authorization_request_is_an_error_page(self):
        self.authenticate("oauth_person", "oauth-person-pw")
        for query in ("client_id=odooclient_%00&redirect_uri=%00",
                      f"response_type=code&client_id={self.app.oauth_client_id}&redirect_uri={APP_URI}"
                      "&code_challenge=ab%00cd&code_challenge_method=S256"):  # fmt: skip
            page = self.opener.get(self.base_url() + "/api/oauth/authorize?" + query, allow_redirects=False)
            self.assertEqual(page.status_code, 400, page.text[:300])
            self.assertIn("text/html", page.headers["Content-Type"])
        nul = self.token(grant_type="client_credentials", client_id="odooclient_\x00", client_secret="x")
        self.assertEqual((nul.status_code, nul.json()["error"]), (400, "invalid_request"))

    def test_o1_a_manager_lacking_groups_sees_but_cannot_revoke_an_admins_grant(self):
        self.authenticate("admin", "admin")
        self.authorize()
        grant = self.Grant.with_user(self.manager).search([("user_id", "=", self.admin.id)])
        self.assertEqual(len(grant), 1)
        with self.assertRaises(AccessError):
            grant.action_revoke()
        with self.assertRaises(AccessError):
            grant.unlink()
        self.assertFalse(grant.revoked)

    def test_o2_an_oauth_token_cannot_log_in_or_refresh_a_login(self):
        login = self.call("POST", "/api/auth/login", key=self.server_secret,
                          body={"login": "rest_limited", "password": "rest_limited"})  # fmt: skip
        self.assertEqual(login.status_code, 200, login.text)
        token = self.client_credentials().json()["access_token"]
        for path, body in (("/api/auth/refresh", {"refresh_token": login.json()["refresh_token"]}),
                           ("/api/auth/login", {"login": "rest_limited", "password": "rest_limited"})):  # fmt: skip
            answer = self.bearer(
                "POST", path, token, data=json.dumps(body), headers={"Content-Type": "application/json"}
            )
            self.assertProblem(answer, 403)
        refreshed = self.call("POST", "/api/auth/refresh", key=self.server_secret,
                              body={"refresh_token": login.json()["refresh_token"]})  # fmt: skip
        self.assertEqual(refreshed.status_code, 200)  # untouched: still the key's to refresh
