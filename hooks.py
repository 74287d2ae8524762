"""What the module made outside the ORM, removed when it is uninstalled
(Odoo drops the models' own tables, columns and sequences itself)."""

from .infra import search_page, throttle


def uninstall_hook(env):
    cr = env.cr
    throttle.drop_tables(cr)  # use counters, login failures, every key's hits sequence
    search_page.drop_function(cr)  # rest_api_note_snapshot()
    cr.execute("DROP TABLE IF EXISTS rest_api_secret")  # the login tokens' signing secret
