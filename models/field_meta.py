"""Odoo field metadata as lib.fieldinfo.FieldInfo, cached per registry.

Field definitions only change when the registry is rebuilt (a module
installed or upgraded), and each rebuild makes a new Registry object, so
the cache lives on it. What a *caller* may see (field groups) is filtered
per call.
"""

from ..lib.fieldinfo import FieldInfo

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
        selection=_selection_keys(field),
    )


def _model_infos(env, model_name):
    per_model = getattr(env.registry, CACHE_ATTRIBUTE, None)
    if per_model is None:
        per_model = {}
        setattr(env.registry, CACHE_ATTRIBUTE, per_model)
    infos = per_model.get(model_name)
    if infos is None:
        model = env[model_name]
        infos = {name: (_describe(env, field), field) for name, field in model._fields.items()}
        per_model[model_name] = infos
    return infos


def fields_of(env):
    """A ``FieldsOf`` for lib/: model name -> {name: FieldInfo} of the fields ``env.user`` can read.

    Memoised per returned function: make one per call of the API.
    """
    seen = {}

    def get(model_name):
        if model_name not in seen:
            if model_name not in env.registry:
                raise KeyError(model_name)
            infos = _model_infos(env, model_name).items()
            seen[model_name] = {name: info for name, (info, field) in infos if field.is_accessible(env)}
        return seen[model_name]

    return get
