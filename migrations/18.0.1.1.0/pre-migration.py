"""18.0.1.1.0: kept answers (Idempotency-Key) belong to a (key, user) pair.

The answers kept before were kept per key only: they are given to the key's
owner, the user a call with the key alone runs as, so that the owner's
retries still replay them (a login token's user retrying one runs it anew,
which it could never replay safely: it may not see what the answer holds).
"""


def migrate(cr, version):
    if not version:
        return
    cr.execute("ALTER TABLE rest_api_idempotency ADD COLUMN IF NOT EXISTS user_id integer")
    cr.execute("""
        UPDATE rest_api_idempotency AS kept SET user_id = key.user_id
          FROM rest_api_key AS key
         WHERE key.id = kept.key_id AND kept.user_id IS NULL
    """)
    cr.execute(
        "ALTER TABLE rest_api_idempotency DROP CONSTRAINT IF EXISTS rest_api_idempotency_key_name_unique"
    )
