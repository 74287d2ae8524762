import base64
import json
import os
import time
from pathlib import Path
from unittest.mock import patch

from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tests.common import ChromeBrowser

from .common import InTransaction

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MARKER = "rest_api_screenshot:"
SCREENSHOTS = ("settings", "key_form", "generate_key", "user_tab", "user_token")


def screenshots_dir():
    """``$REST_API_SCREENSHOTS``, else ``.reports/screenshots`` of the checkout (git-ignored)."""
    default = Path(__file__).resolve().parents[1] / ".reports" / "screenshots"
    return Path(os.environ.get("REST_API_SCREENSHOTS") or default)


def _save_screenshot(browser, name, folder):
    """Capture the page, write ``<name>.png``, then mark <body> so that the tour goes on."""

    def saved(future):
        png = future.result()["data"]
        (folder / f"{name}.png").write_bytes(base64.b64decode(png))
        browser._websocket_send(
            "Runtime.evaluate",
            params={"expression": f"document.body.dataset.restApiScreenshot = {json.dumps(name)}"},
        )

    browser._websocket_send("Page.captureScreenshot", with_future=True).add_done_callback(saved)


@tagged("post_install", "-at_install")
class TestAdminTour(InTransaction, HttpCase):
    def test_create_key_in_the_ui_and_use_it(self):
        folder = screenshots_dir()
        folder.mkdir(parents=True, exist_ok=True)
        for name in SCREENSHOTS:
            (folder / f"{name}.png").unlink(missing_ok=True)
        original = ChromeBrowser._handle_console

        def handle_console(browser, type, args=None, **kw):  # noqa: A002 (CDP's name)
            text = str(browser._from_remoteobject(args[0])) if args else ""
            if text.startswith(MARKER):
                _save_screenshot(browser, text[len(MARKER) :], folder)
            return original(browser, type, args=args, **kw)

        started = time.time()
        with patch.object(ChromeBrowser, "_handle_console", handle_console):
            self.start_tour("/odoo/settings", "rest_api_admin_tour", login="admin", timeout=180)

        key = self.env["rest.api.key"].search([("name", "=", "Tour key")])
        self.assertEqual(key.state, "active")
        self.assertEqual(key.scope_summary, "res.partner (RC)")
        partner = self.env["res.partner"].search([("name", "=", "Created by the admin tour")])
        self.assertEqual(partner.create_uid, self.env.ref("base.user_admin"))
        token = self.env["rest.api.token"].search([("key_id", "=", key.id)])
        self.assertEqual(token.user_id, self.env.ref("base.user_admin"))
        for name in SCREENSHOTS:
            path = folder / f"{name}.png"
            self.assertTrue(path.is_file(), f"no screenshot {path}")
            self.assertGreaterEqual(path.stat().st_mtime, started - 1, path)
            data = path.read_bytes()
            self.assertTrue(data.startswith(PNG_MAGIC) and len(data) > 10_000, f"{path} is not a screenshot")

    def test_a_rest_api_user_manages_own_keys_from_preferences(self):
        alice = new_test_user(
            self.env, login="tour_alice", groups="base.group_user,rest_api.group_rest_api_user"
        )
        bob = new_test_user(self.env, login="tour_bob", groups="base.group_user,rest_api.group_rest_api_user")
        Key = self.env["rest.api.key"]
        Key.generate({"name": "Alice key", "user_id": alice.id})
        Key.generate({"name": "Bob key", "user_id": bob.id})
        self.start_tour("/odoo", "rest_api_user_tour", login="tour_alice", timeout=120)
        created = Key.search([("name", "=", "Alice app")])
        self.assertEqual((created.user_id, created.state, created.use_count), (alice, "active", 1))
