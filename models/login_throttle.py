"""Failed logins per client address (API.md section 3), shared by every worker and server.

Counting is here (one atomic statement on the side connection); the policy,
fixed windows with a limit, is lib.throttle's, like the per-key limits.
"""

from ..lib import settings, throttle
from . import side_store

CREATE_SQL = """
CREATE TABLE IF NOT EXISTS rest_api_login_failure (
    address varchar PRIMARY KEY,
    window_start bigint NOT NULL,
    failures integer NOT NULL
)
"""
READ_SQL = """
SELECT COALESCE((SELECT failures FROM rest_api_login_failure
                  WHERE address = %(address)s
                    AND window_start = floor(extract(epoch FROM now()) / %(period)s)::bigint * %(period)s), 0),
       floor(extract(epoch FROM now()) / %(period)s)::bigint * %(period)s,
       extract(epoch FROM now())::float8
"""
FAIL_SQL = """
INSERT INTO rest_api_login_failure AS f (address, window_start, failures)
VALUES (%(address)s, floor(extract(epoch FROM now()) / %(period)s)::bigint * %(period)s, 1)
ON CONFLICT (address) DO UPDATE SET
    failures = CASE WHEN f.window_start = EXCLUDED.window_start THEN f.failures + 1 ELSE 1 END,
    window_start = EXCLUDED.window_start
"""


def _settings(env):
    get = env["ir.config_parameter"].sudo().get_param
    return settings.read(get, "rest_api.login_max_failures"), settings.read(
        get, "rest_api.login_failure_window"
    )


def check(env, address):
    """The verdict for a login attempt from ``address``: refused once its failures reach the limit."""
    limit, period = _settings(env)
    failures, start, now = side_store.execute(env, READ_SQL, {"address": address or "", "period": period})[0]
    return throttle.decide(int(failures) + 1, limit, period, float(now), int(start))


def record_failure(env, address):
    _limit, period = _settings(env)
    side_store.execute(env, FAIL_SQL, {"address": address or "", "period": period}, fetch=False)
