"""Kept answers of ``Idempotency-Key`` requests (API.md section 9).

One row per API key, user (and, for a call made with an OAuth token, its grant
and scope: ``grant_scope``) and Idempotency-Key value, written once: by the request
that ran, in its own transaction, with its answer. The answer is committed if
and only if the work is, so a crash can never leave work done without its
answer, nor an answer of work that was undone; and a write with an
Idempotency-Key costs its transaction one statement.

Of several identical requests at once, exactly one runs:

- before running, a request takes a session advisory lock on (key, value)
  without waiting, on a side connection it holds until its answer is sent
  (``infra.side_store.try_lock``), and reads a kept answer in a snapshot
  taken after that: with the lock and no answer it runs; without the lock
  and no answer the first is still running (409); with an answer it
  replays it. The lock is let go only once the first request's transaction
  has committed (or rolled back and kept its failure), so a request that
  gets it next sees the answer. A worker that dies loses its connection,
  and the lock with it.
- the answer is inserted ``ON CONFLICT``: if a lock was lost (its
  connection broke), a second answer can never be kept beside the first:
  that request fails (409, or a serialisation failure Odoo retries into a
  409) and its work rolls back.

A request that fails with an error Odoo rolls back keeps that error, when it
is an answer to keep (a 4xx), by a statement of its own on a side connection
(``_keep_failure``), while it still holds the lock.
"""

import json
from dataclasses import dataclass

from odoo import api, fields, models
from odoo.tools import SQL

from ..infra import side_store
from ..lib import idempotency

# after side_store's lock: the kept answer, if any (a fresh snapshot)
LOOK_SQL = """
SELECT current_setting('rest_api.locked')::bool, kept.fingerprint, kept.status, kept.headers, kept.body,
       kept.withheld
  FROM (VALUES (1)) AS one
  LEFT JOIN rest_api_idempotency AS kept
         ON kept.key_id = %(key_id)s AND kept.user_id = %(user_id)s AND kept.grant_scope = %(grant_scope)s
        AND kept.name = %(name)s AND kept.expires > %(now)s
"""
KEEP_SQL = """
INSERT INTO rest_api_idempotency AS kept
       (key_id, user_id, grant_scope, name, fingerprint, expires, status, headers, body, withheld)
VALUES (%(key_id)s, %(user_id)s, %(grant_scope)s, %(name)s, %(fingerprint)s, %(expires)s, %(status)s,
        %(headers)s::jsonb, %(body)s, %(withheld)s)
ON CONFLICT (key_id, user_id, grant_scope, name) DO UPDATE
    SET fingerprint = EXCLUDED.fingerprint, expires = EXCLUDED.expires, status = EXCLUDED.status,
        headers = EXCLUDED.headers, body = EXCLUDED.body, withheld = EXCLUDED.withheld
    WHERE kept.expires <= %(now)s
RETURNING kept.id
"""
KEEP_FAILURE_SQL = """
INSERT INTO rest_api_idempotency
       (key_id, user_id, grant_scope, name, fingerprint, expires, status, headers, body, withheld)
VALUES (%(key_id)s, %(user_id)s, %(grant_scope)s, %(name)s, %(fingerprint)s, %(expires)s, %(status)s,
        %(headers)s::jsonb, %(body)s, %(withheld)s)
ON CONFLICT (key_id, user_id, grant_scope, name) DO NOTHING
"""


@dataclass(frozen=True)
class Claim:
    """A request with an Idempotency-Key that runs: what its answer is kept under,
    the call's (key, user) pair, an OAuth token's grant and scope, and the key's value
    (API.md section 8)."""

    key_id: int
    user_id: int
    name: str
    fingerprint: str
    ttl: int
    withheld: bool = False  # the answer may hold a secret: only that it ran is kept
    grant_scope: str = ""  # an OAuth token's grant and scope (lib.oauth.grant_scope), else ""


@dataclass(frozen=True)
class Look:
    """What ``_look`` found: ``lock`` (``side_store.Held``) when this request
    may run; ``kept``, the answer to replay: (fingerprint, status, headers,
    body); neither: another request with that key is running."""

    lock: object = None
    kept: tuple | None = None


class RestApiIdempotency(models.Model):
    _name = "rest.api.idempotency"
    _inherit = ["rest.api.owned.mixin"]
    _description = "REST API: the kept answer of an Idempotency-Key"
    _log_access = False
    _allow_sudo_commands = False

    key_id = fields.Many2one(string="Key", readonly=True)
    user_id = fields.Many2one(readonly=True)
    grant_scope = fields.Char(
        "OAuth grant and scope", required=True, default="", readonly=True,
        help="For a call made with an OAuth token: its grant and scope (a token of another grant "
        "or scope is another caller, never replayed this answer); empty otherwise.",
    )  # fmt: skip
    name = fields.Char("Idempotency-Key", required=True, readonly=True)
    fingerprint = fields.Char(
        required=True, readonly=True, help="The request's method, path, query and body."
    )
    status = fields.Integer(required=True, readonly=True)
    headers = fields.Json(readonly=True)
    # the answer's bytes as they are (not Odoo's base64): rest_api_raw keeps the file routes off it
    body = fields.Binary(attachment=False, readonly=True, rest_api_raw=True)
    withheld = fields.Boolean(
        readonly=True, help="The answer may have held a secret: only that the request ran is kept."
    )
    expires = fields.Datetime(required=True, index=True, readonly=True)

    _sql_constraints = [
        (
            "key_name_unique",
            "UNIQUE(key_id, user_id, grant_scope, name)",
            "An Idempotency-Key is kept once per API key and user (and OAuth grant and scope).",
        ),
    ]

    def _valid_field_parameter(self, field, name):
        return name == "rest_api_raw" or super()._valid_field_parameter(field, name)

    @api.model
    def _look(self, key_id, user_id, name, grant_scope=""):
        """Lock ``name`` of the pair (``key_id``, ``user_id``) and ``grant_scope`` for this
        request, or find its kept answer: one round trip on a side connection (see the
        module docstring)."""
        held, rows = side_store.try_lock(
            self.env,
            f"rest_api.idempotency:{key_id}:{user_id}:{grant_scope}:{name}",
            LOOK_SQL,
            {"key_id": key_id, "user_id": user_id, "grant_scope": grant_scope, "name": name,
             "now": fields.Datetime.now()},
        )  # fmt: skip
        _got, *kept = rows[0]
        if kept[1] is None:
            return Look(lock=held)
        if held is not None:  # answered meanwhile: nothing to run, nothing to hold
            held.release()
        return Look(kept=tuple(kept))

    @api.model
    def _values(self, claim, response):
        now = fields.Datetime.now()
        # an error answer holds no secret: it is kept and replayed as any other
        withheld = claim.withheld and response.status_code < 400
        return {
            "key_id": claim.key_id, "user_id": claim.user_id, "grant_scope": claim.grant_scope, "name": claim.name,
            "fingerprint": claim.fingerprint,
            "expires": fields.Datetime.add(now, seconds=claim.ttl), "now": now,
            "status": response.status_code,
            "headers": json.dumps(idempotency.kept_headers(response.headers)),
            "body": None if withheld else response.get_data(), "withheld": withheld,
        }  # fmt: skip

    @api.model
    def _keep(self, claim, response):
        """Keep the answer of the request that ran, in its transaction: one
        statement (none for an answer that is not kept). False if another
        answer is kept under that key already (a lock was lost)."""
        if not idempotency.is_kept(response.status_code):
            return True
        self.env.cr.execute(KEEP_SQL, self._values(claim, response))
        return bool(self.env.cr.fetchone())

    @api.model
    def _keep_failure(self, claim, response):
        """Keep an error answer whose transaction Odoo rolled back, on a side
        connection, while the request still holds its lock."""
        if idempotency.is_kept(response.status_code):
            side_store.execute(self.env, KEEP_FAILURE_SQL, self._values(claim, response), fetch=False)

    @api.model
    def _gc_expired(self):
        """Delete the answers kept longer than ``rest_api.idempotency_ttl`` (scheduled action)."""
        self.env.cr.execute(
            SQL("DELETE FROM rest_api_idempotency WHERE expires <= %s", fields.Datetime.now())
        )
