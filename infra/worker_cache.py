"""Per-worker memos that Odoo drops exactly when it drops its own ``ormcache``s.

A call reads a few things that change rarely: its key, the settings, the
caller's context and readable fields. ``tools.ormcache`` would keep them
correctly, but each of its lookups binds the call's arguments to the
method's signature first (``decorator``/``inspect``: tens of µs), several
times per call. A memo here is a plain dict stored *inside* the registry's
``default`` ormcache, so that every clear of that cache (a key, scope,
user, group or system parameter changed, in this worker or, signalled, in
any other) drops it with everything else; should the cache evict it, it is
just built again.

On an Odoo upgrade, re-read ``odoo/modules/registry.py`` (``Registry.__caches``,
``clear_cache``) and ``odoo/tools/cache.py``; ``tests/test_patches.py`` pins
that clearing the cache drops a memo.
"""

CACHE = "default"


def memo(registry, name):
    """The dict ``name`` of this registry, empty again after any clear of its ``default`` cache."""
    lru = registry._Registry__caches[CACHE]
    key = ("rest_api.memo", name)
    try:
        return lru[key]
    except KeyError:
        found = lru[key] = {}
        return found
