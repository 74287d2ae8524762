"""Unit tests of lib/settings.py: one place owns every setting's name, default and parsing."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lib import settings  # noqa: E402


def read(name, stored):
    return settings.read({name: stored}.get, name)


def test_defaults_when_absent_or_unreadable():
    assert read("rest_api.max_page_size", None) == 1000
    assert read("rest_api.max_page_size", "lots") == 1000
    assert read("rest_api.max_body_size", "") == 10 * 1024 * 1024
    assert read("rest_api.login_max_failures", None) == 10
    assert read("rest_api.login_failure_window", None) == 60
    assert read("rest_api.cors_origins", None) == ""


def test_numbers_and_their_minimums():
    assert read("rest_api.max_page_size", "250") == 250
    assert read("rest_api.default_rate_limit", "-5") == 0
    assert read("rest_api.access_token_ttl", "0") == 1
    assert read("rest_api.log_retention_days", "0") == 1
    assert read("rest_api.max_expand_depth", None) == 3
    assert read("rest_api.max_expand_depth", "0") == 0  # nested reads off
    assert read("rest_api.max_expand_depth", "-2") == 0


def test_a_boolean_absent_is_off():
    assert read("rest_api.docs_public", None) is False
    assert read("rest_api.docs_public", "False") is False
    assert read("rest_api.docs_public", "True") is True
    assert read("rest_api.docs_public", "1") is True


def test_every_setting_is_on_the_settings_screen():
    screen = (Path(__file__).resolve().parents[2] / "models" / "res_config_settings.py").read_text()
    view = (Path(__file__).resolve().parents[2] / "views" / "res_config_settings_views.xml").read_text()
    for name in settings.SETTINGS:
        field = "rest_api_" + name.split(".", 1)[1]
        assert f'"{name}"' in screen and f'name="{field}"' in view, name
