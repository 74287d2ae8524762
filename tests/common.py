import json

from odoo.tests import HttpCase, new_test_user


class RestApiCase(HttpCase):
    """Calls the API through Odoo's test HTTP server, inside the test transaction."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.admin = cls.env.ref("base.user_admin")
        cls.limited = new_test_user(
            cls.env, login="rest_limited", groups="base.group_user,base.group_partner_manager"
        )
        cls.key = cls.make_key(cls.admin)
        cls.limited_key = cls.make_key(cls.limited)

    @classmethod
    def make_key(cls, user, **values):
        values = dict({"name": "test key", "user_id": user.id, "all_models": True, "rate_limit": 0}, **values)
        return cls.env["rest.api.key"].generate(values)["key"]

    def call(self, method, path, key=None, params=None, body=None, headers=None, data=None):
        headers = dict(headers or {})
        if key is not False:
            headers.setdefault("api-key", key or self.key)
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        return self.opener.request(
            method, self.base_url() + path, params=params, data=data, headers=headers, timeout=30
        )

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def assertProblem(self, response, status):
        self.assertEqual(response.status_code, status, response.text[:300])
        self.assertEqual(response.headers["Content-Type"].split(";")[0], "application/problem+json")
        body = response.json()
        self.assertEqual(body["status"], status)
        self.assertEqual(body["request_id"], response.headers["X-Request-Id"])
        self.assertNotIn("Traceback", response.text)
        return body
