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

A memo is found in the LRU's own dict (``LRU.d``), not through
``LRU.__getitem__``: that one takes its lock through ``decorator``, which
binds the arguments to the signature on every call (about 20 µs, several
times a call). Reading a dict and moving its key to the front are single
operations under the GIL, so the memo still stays among the recently used.

On an Odoo upgrade, re-read ``odoo/modules/registry.py`` (``Registry.__caches``,
``clear_cache``), ``odoo/tools/cache.py`` and ``odoo/tools/lru.py`` (``LRU.d``,
an OrderedDict, most recent first); ``tests/test_patches.py`` pins that
clearing the cache drops a memo, and that a memo is kept as recently used.
"""

CACHE = "default"


def memo(registry, name):
    """The dict ``name`` of this registry, empty again after any clear of its ``default`` cache."""
    lru = registry._Registry__caches[CACHE]
    key = ("rest_api.memo", name)
    entries = lru.d
    try:
        entries.move_to_end(key, last=False)  # as LRU.__getitem__ does
        return entries[key]
    except KeyError:  # never made, evicted, or cleared meanwhile
        found = lru[key] = {}
        return found
