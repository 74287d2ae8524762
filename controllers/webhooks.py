"""``/api/webhooks``: a key's own webhook subscriptions (API.md section 12).

A call sees and manages only the subscriptions its own (key, user) pair
made (API.md section 8): the login token's user where one is sent, else the
key's owner; an OAuth token, only those made with its grant and scope (they
stop when the grant is revoked, and send only what that scope reaches). It may subscribe to a model its scopes let it read; the events
it gets are what that user may read (``models/rest_api_webhook_event.py``).
Creating one answers its signing secret, once.
"""

from odoo.exceptions import ValidationError

from ..lib import errors, query, scopes, serialize, walls, webhooks
from .handlers import json_response

MEMBERS = ("name", "url", "model_id", "events", "field_ids", "domain", "active")


def _hooks(call):
    # sudo(): the caller may hold no REST API group; every search below is by the call's own pair
    return call.env["rest.api.webhook"].sudo().with_context(active_test=False)


def _pair(call):
    """The call's own subscriptions: its (key, user) pair's, and for an OAuth token those of
    its grant and scope only (a token of another scope is another caller: API.md section 8)."""
    token = call.token if call.token is not None and call.token.oauth else None
    return [
        ("key_id", "=", call.key.id), ("user_id", "=", call.user_id),
        ("grant_id", "=", token.grant_id or False if token else False),
        ("oauth_scope", "=", token.scope_text if token else False),
    ]  # fmt: skip


def _own(call):
    hook = _hooks(call).search([("id", "=", call.params["id"]), *_pair(call)])
    if not hook:
        raise errors.NotFound(f"No webhook subscription {call.params['id']} of this API key and user.")
    return hook


def _shown(hook):
    return {
        "id": hook.id,
        "name": hook.name,
        "url": hook.url,
        "model": hook.model_id.model,
        "model_id": hook.model_id.id,
        "events": webhooks.parse_events(hook.events),
        "fields": hook.field_ids.mapped("name"),
        "domain": hook._domain_list(),
        "active": hook.active,
        "failure_count": hook.failure_count,
        "last_success": hook.last_success and hook.last_success.isoformat(),
        "last_error": hook.last_error or None,
    }


def _model(call, value):
    """``model_id``: an ir.model id or a model name, that the key's scopes let it read."""
    IrModel = call.env["ir.model"].sudo()
    if isinstance(value, str):
        model = IrModel.search([("model", "=", value)])
    elif isinstance(value, int) and not isinstance(value, bool):
        model = IrModel.browse(value).exists()
    else:
        raise errors.BadRequest('"model_id" must be a model name or an ir.model id.')
    if not model or model.transient or model.model.startswith("rest.api."):
        raise errors.BadRequest(f"No model {value!r} to subscribe to.")
    if not scopes.allows(call.scope_map, model.model, frozenset({"read"})):
        raise errors.Forbidden(f"This API key's scopes do not allow read on {model.model!r}.")
    return model


def _values(call, body, hook=None):
    if not isinstance(body, dict):
        raise errors.BadRequest("The body must be a JSON object.")
    unknown = sorted(set(body) - set(MEMBERS))
    if unknown:
        raise errors.BadRequest(f"Unknown member {unknown[0][:40]!r}; known: {', '.join(MEMBERS)}.")
    values = {}
    for name in ("name", "url"):
        if name in body:
            if not isinstance(body[name], str) or not body[name].strip():
                raise errors.BadRequest(f'"{name}" must be a non-empty string.')
            values[name] = body[name].strip()
    if "url" in values:
        webhooks.destination(values["url"], call.env["rest.api.webhook"]._allow_private())
    if "active" in body:
        if not isinstance(body["active"], bool):
            raise errors.BadRequest('"active" must be true or false.')
        values["active"] = body["active"]
    model = _model(call, body["model_id"]) if "model_id" in body else hook.model_id if hook else None
    if "model_id" in body:
        values["model_id"] = model.id
    if "events" in body:
        values["events"] = ",".join(webhooks.parse_events(body["events"]))
    if "field_ids" in body:
        values["field_ids"] = [(6, 0, _field_ids(call, model, body["field_ids"]))]
    if "domain" in body:
        domain = body["domain"]
        if isinstance(domain, str):
            domain = query.load_domain(domain)
        values["domain"] = _checked_domain(call, model, domain)
    elif hook is not None and "model_id" in values:
        # the domain it has is checked again on the model it moves to (the walls of section 8)
        values["domain"] = _checked_domain(call, model, hook._domain_list())
    return values


def _field_ids(call, model, value):
    if not isinstance(value, list) or not all(isinstance(v, (int, str)) for v in value):
        raise errors.BadRequest('"field_ids" must be a list of field names or ir.model.fields ids.')
    readable = call.fields_of()(model.model)
    Fields = call.env["ir.model.fields"].sudo()
    found = Fields.search([("model_id", "=", model.id), "|", ("name", "in", [v for v in value if isinstance(v, str)]),
                           ("id", "in", [v for v in value if isinstance(v, int)])])  # fmt: skip
    if len(found) != len(set(value)) or any(name not in readable for name in found.mapped("name")):
        raise errors.BadRequest(
            f'"field_ids" names fields {model.model!r} does not have or this key cannot read.'
        )
    return found.ids


def _checked_domain(call, model, domain):
    """The domain as JSON text, checked like a search's (fields, and the walls of section 8)."""
    text = serialize.dumps(domain).decode()
    checked = query.parse_domain(text, model.model, call.fields_of())
    if call.scope_map is not None:
        walls.Reach(call.fields_of(), call.scope_map).domain(model.model, checked).check()
    return text


def _saved(call, write):
    try:
        return write()
    except ValidationError as exc:
        raise errors.BadRequest(str(exc.args[0]) if exc.args else "The subscription is not valid.") from exc


# ---------------------------------------------------------------- routes
def listing(call):
    hooks = _hooks(call).search(_pair(call))
    return json_response([_shown(hook) for hook in hooks])


def subscribe(call):
    body = call.json()
    for required in ("url", "model_id", "events"):
        if not isinstance(body, dict) or required not in body:
            raise errors.BadRequest(f'"{required}" is required.')
    maximum = call.setting("rest_api.max_webhooks_per_key")
    if _hooks(call).search_count(_pair(call)) >= maximum:
        # each subscription is read at every deletion of its model: a key may not slow them all
        raise errors.Conflict(
            f"At most {maximum} webhook subscriptions per API key and user "
            "(rest_api.max_webhooks_per_key): delete one first."
        )
    values = _values(call, body)
    values.setdefault("name", values["url"][:100])
    values["key_id"], values["user_id"] = call.key.id, call.user_id
    # made with an OAuth token, it belongs to its grant and scope: rest.api.webhook.create
    made = _saved(call, lambda: _hooks(call).generate(values))
    hook = _hooks(call).browse(made["id"])
    answer = dict(_shown(hook), secret=made["secret"])
    return json_response(answer, status=201, headers={"Location": f"/api/webhooks/{hook.id}"})


def read(call):
    return json_response(_shown(_own(call)))


def update(call):
    hook = _own(call)
    values = _values(call, call.json(), hook)
    if "model_id" in values and values["model_id"] != hook.model_id.id and "field_ids" not in values:
        values["field_ids"] = [(5, 0, 0)]
    _saved(call, lambda: hook.write(values))
    return json_response(_shown(hook))


def delete(call):
    hook = _own(call)
    hook.unlink()
    return json_response({"id": call.params["id"], "message": "Webhook subscription deleted."})
