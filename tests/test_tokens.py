import base64
import json
import time
from datetime import timedelta

import jwt

from odoo import fields
from odoo.tests import new_test_user, tagged

from .common import RestApiCase


def forge(header, payload, signature=""):
    def b64(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{b64(header)}.{b64(payload)}.{signature}"


@tagged("post_install", "-at_install")
class TestTokens(RestApiCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(
            cls.env, login="rest_manager", groups="base.group_user,rest_api.group_rest_api_manager"
        )
        cls.manager_key = cls.make_key(cls.manager)
        cls.person = new_test_user(
            cls.env, login="rest_person", password="rest-person-pw", groups="base.group_user"
        )

    def issue(self, user, key=None, days=1):
        response = self.call("POST", "/api/generate_token", key=key or self.manager_key,
                             body={"user_id": user.id, "expiration_days": days})  # fmt: skip
        self.assertEqual(response.status_code, 200, response.text)
        return response.json()

    def works(self, token, key=None, header="token"):
        headers = {"Authorization": f"Bearer {token}"} if header == "bearer" else {header: token}
        return self.get(
            "/api/res.country/search", key=key or self.manager_key, headers=headers, params={"limit": 1}
        )

    def refresh(self, token, key=None):
        return self.call(
            "POST", "/api/auth/refresh", key=key or self.manager_key, body={"refresh_token": token}
        )

    def login(self, password="rest-person-pw", key=None, login="rest_person"):
        return self.call(
            "POST",
            "/api/auth/login",
            key=key or self.manager_key,
            body={"login": login, "password": password},
        )

    # ------------------------------------------------------------ generate_token
    def test_generate_token_answer_and_claims(self):
        body = self.issue(self.person, days=10)
        self.assertEqual(body["message"], "JWT Token generated successfully.")
        self.assertEqual((body["token_type"], body["expires_in_days"]), ("JWT", 10))
        self.assertEqual(
            body["user_info"],
            {"user_id": self.person.id, "user_name": self.person.name, "user_login": "rest_person"},
        )
        claims = jwt.decode(body["login_token"], options={"verify_signature": False})
        self.assertEqual(jwt.get_unverified_header(body["login_token"])["alg"], "HS256")
        self.assertEqual((claims["sub"], claims["exp"] - claims["iat"]), (str(self.person.id), 10 * 86400))
        token = self.env["rest.api.token"].search([("jti", "=", claims["jti"])])
        self.assertEqual((token.user_id, str(token.key_id.id)), (self.person, claims["azp"]))

    def test_token_runs_as_its_user_in_every_header_form(self):
        token = self.issue(self.person)["login_token"]
        for header in ("token", "Login-Token", "bearer"):
            self.assertEqual(self.works(token, header=header).status_code, 200, header)
        response = self.call("POST", "/api/res.partner.category/create", key=self.manager_key,
                             headers={"token": token}, body={"name": "by token"})  # fmt: skip
        self.assertProblem(response, 403)  # the person may not create categories; the manager could

    def test_only_managers_issue_tokens_for_others(self):
        response = self.call("POST", "/api/generate_token", key=self.limited_key,
                             body={"user_id": self.person.id, "expiration_days": 1})  # fmt: skip
        self.assertProblem(response, 403)
        self.assertEqual(
            self.issue(self.limited, key=self.limited_key)["user_info"]["user_id"], self.limited.id
        )

    def test_bad_generate_token_input(self):
        for body in ({"user_id": "abc"}, {"user_id": self.person.id, "expiration_days": -3},
                     {"user_id": self.person.id, "expiration_days": "ten"}, [1]):  # fmt: skip
            self.assertProblem(self.call("POST", "/api/generate_token", key=self.manager_key, body=body), 400)

    # ------------------------------------------------------------ refusals
    def test_token_needs_its_own_key(self):
        token = self.issue(self.person)["login_token"]
        self.assertProblem(self.works(token, key=self.key), 401)
        self.assertProblem(self.get("/api/res.country/search", key=False, headers={"token": token}), 401)

    def test_forged_tokens_are_refused(self):
        token = self.issue(self.person)["login_token"]
        claims = jwt.decode(token, options={"verify_signature": False})
        head, payload, signature = token.split(".")
        admin_claims = dict(claims, sub=str(self.admin.id))
        for forged in (
            forge({"alg": "none", "typ": "JWT"}, admin_claims),
            forge({"alg": "HS256", "typ": "JWT"}, admin_claims, signature),
            jwt.encode(admin_claims, "another secret that is long enough, really", algorithm="HS256"),
            jwt.encode(admin_claims, self.env["rest.api.token"]._signing_secret(), algorithm="HS512"),
            token[:-2],
        ):
            self.assertProblem(self.works(forged), 401)

    def test_revoked_expired_archived_and_password_changed_are_refused(self):
        Token = self.env["rest.api.token"]
        cases = {
            "revoked": lambda token: token.write({"revoked": True}),
            "expired": lambda token: token.write({"expiration_date": "2001-01-01 00:00:00"}),
            "password": lambda token: token.user_id.write({"password": "a new password 123"}),  # noqa: S106
            "user archived": lambda token: token.user_id.write({"active": False}),
            "key archived": lambda token: token.key_id.write({"active": False}),
        }
        for name, change in cases.items():
            with self.subTest(name):
                user = new_test_user(self.env, login=f"rest_{name}", groups="base.group_user")
                key = self.make_key(self.manager)
                body = self.issue(user, key=key)
                self.assertEqual(self.works(body["login_token"], key=key).status_code, 200)
                jti = jwt.decode(body["login_token"], options={"verify_signature": False})["jti"]
                change(Token.search([("jti", "=", jti)]))
                self.assertProblem(self.works(body["login_token"], key=key), 401)

    # ------------------------------------------------------------ login, refresh, logout
    def test_login_refresh_rotation_and_reuse(self):
        body = self.login().json()
        self.assertEqual((body["token_type"], body["user_info"]["user_id"]), ("Bearer", self.person.id))
        self.assertEqual(self.works(body["access_token"], header="bearer").status_code, 200)
        refresh = self.refresh
        second = refresh(body["refresh_token"]).json()
        self.assertNotEqual(second["access_token"], body["access_token"])
        self.assertEqual(self.works(second["access_token"]).status_code, 200)
        self.assertProblem(refresh(body["refresh_token"]), 401)  # reuse: the whole chain goes
        for token in (body["access_token"], second["access_token"]):
            self.assertProblem(self.works(token), 401)
        self.assertProblem(refresh(second["refresh_token"]), 401)

    def test_refresh_needs_the_same_key(self):
        body = self.login().json()
        response = self.call(
            "POST", "/api/auth/refresh", key=self.key, body={"refresh_token": body["refresh_token"]}
        )
        self.assertProblem(response, 401)

    def test_logout_revokes_the_chain(self):
        body = self.login().json()
        response = self.call(
            "POST", "/api/auth/logout", key=self.manager_key, headers={"token": body["access_token"]}
        )
        self.assertEqual(response.status_code, 200)
        self.assertProblem(self.works(body["access_token"]), 401)
        body = self.login().json()
        self.call(
            "POST", "/api/auth/logout", key=self.manager_key, body={"refresh_token": body["refresh_token"]}
        )
        self.assertProblem(self.works(body["access_token"]), 401)

    def test_login_accepts_an_odoo_api_key_and_refuses_wrong_passwords(self):
        odoo_key = (
            self.env["res.users.apikeys"]
            .with_user(self.person)
            ._generate("rpc", "rest test", fields.Datetime.now() + timedelta(days=1))
        )
        self.assertEqual(self.login(password=odoo_key).status_code, 200)
        self.assertProblem(self.login(password="wrong"), 401)
        self.assertProblem(self.login(login="nobody-at-all"), 401)
        self.assertProblem(
            self.call(
                "POST",
                "/api/auth/login",
                key=False,
                body={"login": "rest_person", "password": "rest-person-pw"},
            ),
            401,
        )

    def test_failed_logins_are_throttled_per_address(self):
        self.env["ir.config_parameter"].set_param("rest_api.login_max_failures", "3")
        for _attempt in range(3):
            self.assertProblem(self.login(password="wrong"), 401)
        response = self.login()  # the right password, while throttled
        self.assertProblem(response, 429)
        self.assertTrue(int(response.headers["Retry-After"]) > 0)

    def test_access_token_ttl_setting(self):
        self.env["ir.config_parameter"].set_param("rest_api.access_token_ttl", "2")
        body = self.login().json()
        self.assertEqual(body["expires_in"], 2)
        self.assertEqual(self.works(body["access_token"]).status_code, 200)
        time.sleep(3)
        self.assertProblem(self.works(body["access_token"]), 401)

    # ------------------------------------------------------------ require_user_token
    def test_key_requiring_a_user_token(self):
        app_key = self.make_key(self.manager, require_user_token=True, all_models=False, scope_ids=[
            (0, 0, {"model_id": self.env.ref("base.model_res_country").id, "perm_read": True})])  # fmt: skip
        self.assertProblem(self.works(None, key=app_key, header="x-none"), 401)
        self.assertProblem(
            self.call("POST", "/api/generate_token", key=app_key, body={"user_id": self.manager.id}), 401
        )
        access = self.login(key=app_key).json()["access_token"]
        self.assertEqual(self.works(access, key=app_key).status_code, 200)
        response = self.get("/api/res.partner/search", key=app_key, headers={"token": access})
        self.assertProblem(response, 403)  # still inside the key's scopes
