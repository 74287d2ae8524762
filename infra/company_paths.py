"""The companies' ``parent_path``, kept per worker and put in each call's cache.

Odoo's multi-company record rules say ``('company_id', 'parent_of',
company_ids)`` (res.partner's does). Odoo resolves ``parent_of`` by reading
``parent_path`` of those companies, and the record cache lives for one
transaction: so every API call on such a model read res.company again, every
prefetched column of it, before its own query: about a third of a search's
time in Odoo (profiled with py-spy on ``GET /api/res.partner/search``).

A company's ``parent_path`` never changes once the company exists: Odoo
refuses a new ``parent_id`` (``res.company.write``), and creating a company
clears Odoo's caches, which drops this memo in every worker
(``infra.worker_cache``). So a worker reads every company's ``parent_path``
once, and each call puts those values into its transaction's cache
(``insert_missing``: a value the transaction already has is kept), where
``parent_of`` finds them.

On an Odoo upgrade, re-read ``res.company.write`` (``parent_id`` refused)
and ``create`` (``registry.clear_cache()``), and ``parent_of_domain`` in
``odoo/osv/expression.py`` (it reads ``parent_path``);
``tests/test_patches.py`` pins the first two and that a call no longer reads
res.company.
"""

from . import worker_cache

MEMO = "rest_api.company_paths"


def prefill(env):
    """Put every company's ``parent_path`` in the cache of ``env``'s transaction."""
    memo = worker_cache.memo(env.registry, MEMO)
    if not memo:
        env.cr.execute("SELECT id, parent_path FROM res_company WHERE parent_path IS NOT NULL")
        rows = env.cr.fetchall()
        memo["ids"], memo["paths"] = tuple(row[0] for row in rows), tuple(row[1] for row in rows)
    if memo["ids"]:
        Company = env["res.company"]
        env.cache.insert_missing(Company.browse(memo["ids"]), Company._fields["parent_path"], memo["paths"])
