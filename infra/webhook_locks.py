"""The advisory locks by which writers wake the webhook sender only when it sleeps.

``AWAKE``: held (session level, exclusive) by a sender while it runs and looks
for new change notes (``rest.api.webhook.event._run``). ``IN_FLIGHT``: held
shared by every transaction that noted a change for webhooks, from its note's
statement to its commit (``rest.api.change`` ``WAKE_SQL``), which also tries
``AWAKE`` shared: granted, no sender runs and the writer wakes one (a trigger
row and a NOTIFY after commit); refused, the running sender will see the note.
A sender stops only once nobody is in flight (a writer that found it awake has
committed), then looks for notes one last time.

Advisory locks belong to the database: servers on other databases of the
cluster never meet these.
"""

SPACE = 0x52415049  # the first key of both locks: "RAPI"
AWAKE = 1
IN_FLIGHT = 2
SENDER = {"space": SPACE, "awake": AWAKE, "flight": IN_FLIGHT}


def try_lock(cr, key):
    """Take the session lock ``key`` exclusively if nobody holds it: whether it was."""
    cr.execute("SELECT pg_try_advisory_lock(%s, %s)", [SPACE, key])
    return cr.fetchone()[0]


def unlock(cr, key):
    cr.execute("SELECT pg_advisory_unlock(%s, %s)", [SPACE, key])
