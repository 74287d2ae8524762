"""The documents of /api/openapi.json and /api/postman.json, for one caller.

What a caller reaches and the documents themselves are cached per worker:

- each model's OpenAPI fragment (schemas, answers, paths), keyed by the
  fields the caller can read and the operations it may use, and dropped when
  Odoo sets the model up again (a field added);
- the last few whole documents, keyed by what went into them, and what each
  caller reaches. These live in an ``infra.worker_cache`` memo, which Odoo
  drops whenever the registry cache is cleared (models, access rights,
  groups, record rules, keys and scopes all clear it) in every worker, so a
  change anywhere is seen on the next call, and rebuilding merges cached
  fragments. A document is also kept gzipped, made the first time a client
  that accepts gzip asks for it (1.75 MB of JSON for every model of a small
  database is 74 kB gzipped).
"""

import threading
from collections import OrderedDict

from odoo import api, models
from odoo.modules.module import get_manifest

from ..infra import field_meta, worker_cache
from ..lib import files, openapi, postman, serialize

ACL_OPERATIONS = {"read": "read", "create": "create", "write": "write", "delete": "unlink"}
DOCUMENTS_KEPT = 8
REACHABLE_KEPT = 256
FRAGMENTS_ATTRIBUTE = "_rest_api_docs_fragments"
VERSION = get_manifest(__name__.split(".")[2]).get("version") or "1.0.0"  # odoo.addons.<module>.models


class _DocsCache:
    """A worker's whole documents, and what callers reach (until Odoo clears its caches)."""

    def __init__(self):
        self.reachable = {}  # (uid, scope map, requested models) -> [(model, operations)]
        self.documents = OrderedDict()  # key -> [bytes, gzipped bytes or None], least recently used first
        self.lock = threading.Lock()


class RestApiDocs(models.AbstractModel):
    _name = "rest.api.docs"
    _description = "REST API documentation builder"

    def _cache(self):
        """This worker's documents, dropped whenever Odoo clears its caches (``infra.worker_cache``)."""
        memo = worker_cache.memo(self.env.registry, "rest_api.docs")
        if (cache := memo.get("documents")) is None:
            cache = memo.setdefault("documents", _DocsCache())
        return cache

    # ------------------------------------------------------------ reach
    @api.model
    def _candidate_models(self, scope_map):
        """Model names worth documenting: the key's scopes, or every concrete model."""
        registry = self.env.registry
        if scope_map is not None:
            names = scope_map
        else:
            names = [name for name, cls in registry.items() if not cls._transient]
        return sorted(name for name in names if name in registry and not registry[name]._abstract)

    @api.model
    def _reachable(self, scope_map, requested=None):
        """[(model name, operations)] the current user may use, within ``scope_map``
        (None: every model) and ``requested`` (None: no narrowing)."""
        reachable = []
        for name in self._candidate_models(scope_map):
            if requested is not None and name not in requested:
                continue
            model = self.env[name]
            operations = {op for op, acl in ACL_OPERATIONS.items() if model.has_access(acl)}
            if scope_map is not None:
                operations &= scope_map[name]
            if operations:
                reachable.append((name, frozenset(operations)))
        return reachable

    def _reachable_cached(self, cache, scope_map, requested):
        """``_reachable``, kept per user: access rights, groups, keys and scopes
        all clear Odoo's caches when they change, and this cache with them."""
        key = (
            self.env.uid,
            self.env.su,
            None if scope_map is None else tuple(sorted(scope_map.items())),
            None if requested is None else tuple(sorted(requested)),
        )
        found = cache.reachable.get(key)
        if found is None:
            found = cache.reachable[key] = self._reachable(scope_map, requested)
            if len(cache.reachable) > REACHABLE_KEPT:
                cache.reachable.pop(next(iter(cache.reachable)))
        return found

    # ------------------------------------------------------------ models
    def _reports(self, names):
        """{model: (report_name, ...)} of the reports of ``names`` the user may print
        (Odoo's report groups), as Odoo reads report definitions (sudo)."""
        if not names:
            return {}
        user_groups = set(self.env.user._get_group_ids())
        found = {}
        reports = (
            self.env["ir.actions.report"]
            .sudo()
            .search(
                [("model", "in", list(names)), ("report_type", "in", list(files.REPORT_TYPES))],
                order="model, name, id",
            )
        )
        for report in reports:
            if not report.groups_id or user_groups & set(report.groups_id.ids):
                found.setdefault(report.model, []).append(report.report_name)
        return {model: tuple(dict.fromkeys(names)) for model, names in found.items()}

    def _model_docs(self, reachable):
        fields_of = field_meta.fields_of(self.env)
        reports = self._reports([name for name, _operations in reachable])
        # attachments are created where the caller reaches ir.attachment with create
        attachable = any(name == "ir.attachment" and "create" in ops for name, ops in reachable)
        docs = []
        for name, operations in reachable:
            model = self.env[name]
            docs.append(
                openapi.ModelDoc(
                    name=name,
                    description=model._description or name,
                    fields=fields_of(name),
                    operations=operations,
                    rec_name=model._rec_name,
                    reports=reports.get(name, ()),
                    attachable=attachable,
                )
            )
        return docs

    def _fragments(self, docs, routes):
        """Each model's OpenAPI fragment, from the per-registry cache when the model's
        fields, the caller's readable fields and operations are the same."""
        registry = self.env.registry
        cache = getattr(registry, FRAGMENTS_ATTRIBUTE, None)
        if cache is None:
            cache = {}
            setattr(registry, FRAGMENTS_ATTRIBUTE, cache)
        out = {}
        for doc in docs:
            model_fields = self.env[doc.name]._fields  # a new dict when Odoo sets the model up again
            key = (
                id(routes),
                doc.name,
                tuple(sorted(doc.fields)),
                doc.operations,
                doc.description,
                doc.rec_name,
                doc.reports,
                doc.attachable,
            )
            found = cache.get(key)
            if found is None or found[0] is not model_fields:
                found = (model_fields, openapi.model_fragment(doc, routes))
                cache[key] = found
            out[doc.name] = found[1]
        return out

    # ------------------------------------------------------------ documents
    @api.model
    def _document(
        self,
        kind,
        *,
        scope_map=None,
        requested=None,
        anonymous=False,
        max_page_size=1000,
        base_url="",
        gzipped=False,
    ):
        """The UTF-8 JSON of an ``openapi`` or ``postman`` document (``gzipped``: gzip of it).

        ``anonymous``: the generic document, naming no model. Otherwise the
        models the current user reaches within ``scope_map`` (a key's
        scopes; None: every model) and ``requested`` (``?models=``).
        """
        cache = self._cache()
        reachable = [] if anonymous else self._reachable_cached(cache, scope_map, requested)
        groups = () if anonymous else tuple(self.env.user._get_group_ids())  # field groups hide fields
        user_id = None if anonymous else self.env.uid
        key = (
            kind,
            tuple(reachable),
            max_page_size,
            base_url,
            groups,
            user_id if kind == "postman" else None,
        )
        with cache.lock:
            found = cache.documents.get(key)
            if found is not None:
                cache.documents.move_to_end(key)
        if found is None:
            found = self._build_document(cache, key, kind, reachable, max_page_size, base_url, user_id)
        if not gzipped:
            return found[0]
        if found[1] is None:  # made once, outside the lock; two at once make the same bytes
            found[1] = serialize.gzipped(found[0])
        return found[1]

    def _build_document(self, cache, key, kind, reachable, max_page_size, base_url, user_id):
        docs = self._model_docs(reachable)
        routes = self.env["rest.api.pipeline"]._routes()
        document = openapi.build(
            routes,
            docs,
            max_page_size=max_page_size,
            fragments=self._fragments(docs, routes),
            version=VERSION,
        )
        if kind == "postman":
            document = postman.build(document, base_url=base_url, user_id=user_id)
        found = [serialize.dumps(document), None]
        with cache.lock:
            cache.documents[key] = found
            while len(cache.documents) > DOCUMENTS_KEPT:
                cache.documents.popitem(last=False)
        return found
