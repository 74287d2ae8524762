"""Odoo field metadata as lib.fieldinfo.FieldInfo, cached per registry.

Field definitions change when the registry is rebuilt or a model is set up
again (a custom field added); the cache lives on the registry and is checked
against the model's current fields (``_generation``). What a *caller* may see (field groups) is filtered
per call.
"""

import types

from odoo.exceptions import AccessError

from ..lib.fieldinfo import FieldInfo
from . import worker_cache

CACHE_ATTRIBUTE = "_rest_api_field_infos"


def _selection_keys(field):
    if field.type != "selection" or not isinstance(field.selection, list | tuple):
        return None
    return tuple(key for key, _label in field.selection)


def _describe(env, field):
    return FieldInfo(
        name=field.name,
        type=field.type,
        relation=getattr(field, "comodel_name", None) or None,
        required=bool(field.required),
        readonly=bool(field.readonly),
        store=bool(field.store),
        searchable=bool(field._description_searchable),
        sortable=bool(field._description_sortable(env(su=True))),
        groupable=bool(field._description_groupable(env(su=True))),
        aggregatable=_aggregatable(env(su=True), field),
        selection=_selection_keys(field),
        string=field.string or "",
        help=field.help or "",
        has_default=field.default is not None or bool(field.compute) or bool(field.related),
        related_models=_related_models(env, field),
    )


def _aggregatable(env, field):
    """Whether ``_read_group`` can aggregate the field: a stored column, or a related
    field Odoo follows in SQL (as ``Field._description_aggregator`` finds out). As the
    superuser, like sortable: the caller's field groups are checked per call."""
    if field.store and field.column_type:
        return True
    model = env[field.model_name]
    try:
        model._read_group_select(f"{field.name}:count", model._as_query(ordered=False))
    except (ValueError, AccessError, KeyError):
        return False
    return True


def _related_models(env, field):
    """The models a non-stored related field's path passes through (an inherited
    field, ``_inherits``' own copy of its parent's field, reaches nothing)."""
    if not field.related or field.store or field.inherited:
        return ()
    models, model = [], env[field.model_name]
    for name in field.related.split(".")[:-1]:
        comodel = getattr(model._fields.get(name), "comodel_name", None)
        if not comodel:
            return tuple(models)
        models.append(comodel)
        model = env[comodel]
    return tuple(models)


def _model_infos(env, model_name):
    """{name: FieldInfo} of a model, rebuilt whenever Odoo sets the model up
    again (a custom field added at runtime re-creates ``_fields`` in place)."""
    per_model = getattr(env.registry, CACHE_ATTRIBUTE, None)
    if per_model is None:
        per_model = {}
        setattr(env.registry, CACHE_ATTRIBUTE, per_model)
    model_fields = env[model_name]._fields
    cached = per_model.get(model_name)
    if cached is None or cached[0] != _generation(model_fields):
        cached = (
            _generation(model_fields),
            {name: _describe(env, field) for name, field in model_fields.items()},
        )
        per_model[model_name] = cached
    return model_fields, cached[1]


def _generation(model_fields):
    """What changes when a field is added to or dropped from a model at runtime (a custom
    field): Odoo sets the model up again in place, the same ``_fields`` dict, mostly the
    same Field objects (odoo/models.py ``_setup_base``): its field names (a µs or two)."""
    return tuple(model_fields)


def _readable(env, model_name, model_fields, infos):
    """{name: FieldInfo} of the fields ``env``'s user can read (field groups), kept
    per worker and per user until Odoo clears its caches (a change of groups does)."""
    key = (model_name, None if env.is_superuser() else env.uid)
    readable = worker_cache.memo(env.registry, "rest_api.readable_fields")
    cached = readable.get(key)
    if cached is None or cached[0] != _generation(model_fields):
        cached = readable[key] = (
            _generation(model_fields),
            types.MappingProxyType(
                {
                    name: info
                    for name, info in infos.items()
                    if name in model_fields and model_fields[name].is_accessible(env)
                }
            ),
        )
    return cached[1]


def fields_of(env):
    """A ``FieldsOf`` for lib/: model name -> {name: FieldInfo} of the fields ``env.user`` can read.

    Memoised per returned function: make one per call of the API.
    """
    seen = {}

    def get(model_name):
        if model_name not in seen:
            if model_name not in env.registry:
                raise KeyError(model_name)
            model_fields, infos = _model_infos(env, model_name)
            seen[model_name] = _readable(env, model_name, model_fields, infos)
        return seen[model_name]

    return get
