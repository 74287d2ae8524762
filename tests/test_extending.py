"""Extending the API the supported way: the README's example route, end to end.

Another addon adds a route with one ``Route`` entry returned by its
override of ``rest.api.pipeline._routes()``; here the override is patched in
(a test cannot add a model class), and everything else is the README's code.
"""

from unittest.mock import patch

from odoo.tests import tagged

from ..controllers.handlers import json_response
from ..lib.openapi import Operation
from ..lib.postman import Example
from ..lib.routes import Route
from .common import RestApiCase


# ---- the README's example, as another addon would write it
def whoami(call):
    """Who the call runs as, and with which key."""
    user = call.env.user
    return json_response({"user_id": user.id, "login": user.login, "key_id": call.key.id})


WHOAMI = Route(
    "whoami", "GET", "whoami", whoami,
    summary="Who am I", tags=("authentication",),
    openapi=Operation(
        answer={"type": "object", "properties": {"user_id": {"type": "integer"}, "login": {"type": "string"},
                                                 "key_id": {"type": "integer"}}},
        answer_name="whoami", errors=(401, 403, 429),
    ),
    postman=Example(token_header=False),
)  # fmt: skip
# ----


@tagged("post_install", "-at_install")
class TestExtending(RestApiCase):
    def setUp(self):
        super().setUp()
        Pipeline = type(self.env["rest.api.pipeline"])
        original = Pipeline._routes

        def _routes(pipeline):
            return original(pipeline) + (WHOAMI,)

        self.startPatcher(patch.object(Pipeline, "_routes", _routes))

    def test_a_route_added_by_another_addon_is_served_documented_and_in_postman(self):
        response = self.get("/api/whoami")
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json()["user_id"], self.admin.id)
        self.assertIn("X-Request-Id", response.headers)
        self.assertProblem(self.get("/api/whoami", key=False), 401)
        self.assertProblem(self.call("POST", "/api/whoami"), 405)
        operation = self.get("/api/openapi.json").json()["paths"]["/api/whoami"]["get"]
        self.assertEqual(operation["summary"], "Who am I")
        folders = {f["name"]: f for f in self.get("/api/postman.json").json()["item"]}
        urls = [item["request"]["url"]["raw"] for item in folders["Authentication"]["item"]]
        self.assertIn("{{baseUrl}}/api/whoami", urls)

    def test_an_added_route_runs_every_stage(self):
        key = self.make_key(self.limited, rate_limit=1, rate_limit_period=3600)
        self.assertEqual(self.get("/api/whoami", key=key).json()["login"], self.limited.login)
        self.assertProblem(self.get("/api/whoami", key=key), 429)
        self.assertProblem(
            self.get("/api/whoami", key=self.make_key(self.limited, require_user_token=True)), 401
        )
        self.assertProblem(
            self.get("/api/whoami", key=self.make_key(self.limited, allowed_ips="10.9.9.9")), 403
        )
