"""Kept answers of ``Idempotency-Key`` requests (API.md section 9).

One row per API key and Idempotency-Key value. The request that runs claims
its row in its own transaction, before its handler runs, and fills it with
its answer at the end of that same transaction: the answer is committed if
and only if the work is, so a crash can never leave work done without its
answer, nor an answer of work that was undone.

Of several identical requests at once, exactly one runs:

- the claim takes a transaction-level advisory lock on (key, value) without
  waiting: a request that cannot take it is 409 (the first is still running),
  unless a kept answer is already there to replay;
- the claim inserts the row: a request whose snapshot is older than another's
  committed row fails to serialise there (PostgreSQL's ``ON CONFLICT`` under
  REPEATABLE READ), before running anything, and Odoo runs it again: it then
  replays that answer.

A request that fails with an error Odoo rolls back loses its claim; when
that error is an answer to keep (a 4xx), it is kept afterwards by its own
statement on a side connection (``_keep_failure``).
"""

import json
from dataclasses import dataclass

from odoo import api, fields, models
from odoo.tools import SQL

from ..infra import side_store
from ..lib import idempotency

CLAIM_SQL = """
WITH lock AS (SELECT pg_try_advisory_xact_lock(hashtextextended(%(lock)s, 0)) AS got),
claim AS (
    INSERT INTO rest_api_idempotency (key_id, name, fingerprint, expires)
    SELECT %(key_id)s, %(name)s, %(fingerprint)s, %(expires)s FROM lock WHERE got
    ON CONFLICT (key_id, name) DO UPDATE
        SET fingerprint = EXCLUDED.fingerprint, expires = EXCLUDED.expires,
            status = NULL, headers = NULL, body = NULL
        WHERE rest_api_idempotency.expires <= %(now)s
    RETURNING id
)
SELECT lock.got, claim.id, kept.fingerprint, kept.status, kept.headers, kept.body
  FROM lock
  LEFT JOIN claim ON TRUE
  LEFT JOIN rest_api_idempotency kept
         ON claim.id IS NULL AND kept.key_id = %(key_id)s AND kept.name = %(name)s
        AND kept.status IS NOT NULL AND kept.expires > %(now)s
"""
KEEP_FAILURE_SQL = """
INSERT INTO rest_api_idempotency (key_id, name, fingerprint, expires, status, headers, body)
VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s)
ON CONFLICT (key_id, name) DO NOTHING
"""


@dataclass(frozen=True)
class Claim:
    """What ``_claim`` found: ``row`` is the id of the row this request
    claimed (it runs), else ``kept`` is the answer to replay: (fingerprint,
    status, headers, body); neither: another request with that key is running."""

    key_id: int
    name: str
    fingerprint: str
    expires: object
    row: int | None = None
    kept: tuple | None = None


class RestApiIdempotency(models.Model):
    _name = "rest.api.idempotency"
    _description = "REST API: the kept answer of an Idempotency-Key"
    _log_access = False
    _allow_sudo_commands = False

    key_id = fields.Many2one("rest.api.key", string="Key", required=True, ondelete="cascade", readonly=True)
    name = fields.Char("Idempotency-Key", required=True, readonly=True)
    fingerprint = fields.Char(
        required=True, readonly=True, help="The request's method, path, query and body."
    )
    status = fields.Integer(readonly=True, help="Empty while the request runs.")
    headers = fields.Json(readonly=True)
    body = fields.Binary(attachment=False, readonly=True)
    expires = fields.Datetime(required=True, index=True, readonly=True)

    _sql_constraints = [
        ("key_name_unique", "UNIQUE(key_id, name)", "An Idempotency-Key is kept once per API key."),
    ]

    @api.model
    def _claim(self, key_id, name, fingerprint, ttl):
        """Claim ``name`` for this request, in its transaction: one statement."""
        now = fields.Datetime.now()
        expires = fields.Datetime.add(now, seconds=ttl)
        self.env.cr.execute(
            CLAIM_SQL,
            {
                "lock": f"rest_api.idempotency:{key_id}:{name}",
                "key_id": key_id, "name": name, "fingerprint": fingerprint,
                "expires": expires, "now": now,
            },
        )  # fmt: skip
        _got, row, *kept = self.env.cr.fetchone()
        return Claim(key_id, name, fingerprint, expires, row=row, kept=tuple(kept) if kept[1] else None)

    @api.model
    def _keep(self, claim, response):
        """Fill the claimed row with the answer, or give the claim up when the
        answer is not kept: in the request's transaction, one statement."""
        if idempotency.is_kept(response.status_code):
            self.env.cr.execute(
                SQL(
                    "UPDATE rest_api_idempotency SET status = %s, headers = %s::jsonb, body = %s WHERE id = %s",
                    response.status_code,
                    json.dumps(idempotency.kept_headers(response.headers)),
                    response.get_data(),
                    claim.row,
                )
            )
        else:
            self.env.cr.execute(SQL("DELETE FROM rest_api_idempotency WHERE id = %s", claim.row))

    @api.model
    def _keep_failure(self, claim, response):
        """Keep an error answer whose transaction Odoo rolled back (the claim went
        with it), on a side connection; a request that claimed the key meanwhile wins."""
        if not idempotency.is_kept(response.status_code):
            return
        side_store.execute(
            self.env,
            KEEP_FAILURE_SQL,
            [
                claim.key_id, claim.name, claim.fingerprint, claim.expires, response.status_code,
                json.dumps(idempotency.kept_headers(response.headers)), response.get_data(),
            ],
            fetch=False,
        )  # fmt: skip

    @api.model
    def _gc_expired(self):
        """Delete the answers kept longer than ``rest_api.idempotency_ttl`` (scheduled action)."""
        self.env.cr.execute(
            SQL("DELETE FROM rest_api_idempotency WHERE expires <= %s", fields.Datetime.now())
        )
