"""``POST /api/batch`` (API.md section 9): data-route operations in order, in one transaction.

Each operation is a call of its own (a ``Call`` on an ``OperationRequest``)
that goes through the pipeline's stages as if sent alone, with the batch
request's key and user: counted against the key's rate limit (``_throttle``),
its model and scopes checked (``_scope``), its route's handler run (``_run``).
The first operation that fails fails the batch: its problem+json, its
status, ``"operation": N``, and the transaction rolls back, so nothing any
operation did is written. Only data routes run inside a batch: not the
login-token routes, the documents, webhook subscriptions, nor another batch.
Consecutive creates of one model are made by one ORM create of their list,
each operation still checked, counted and answered as if alone (see
``_run_group`` below).
"""

import json
import logging

import psycopg2
from werkzeug.datastructures import Headers
from werkzeug.urls import url_decode

from odoo.service import model as service_model

from ..infra import throttle
from ..lib import batch as batches
from ..lib import errors, methods, routes, serialize, values
from . import handlers
from .call import Call
from .errors import to_api_error

_logger = logging.getLogger(__name__)


class OperationRequest:
    """What the stages and handlers read of a request, for one operation."""

    def __init__(self, parent, method, path, query, headers):
        self.method = method
        self.path = path
        self.query_string = query.encode()
        self.args = url_decode(query)
        self.headers = Headers(list(headers))
        self.remote_addr = parent.remote_addr
        self.content_length = None


def runs_in_batch(route):
    """Whether a route may be an operation of a batch: the data routes."""
    return route.auth == "user" and "records" in route.tags


def batch_kept(call):
    """What an Idempotency-Key keeps of a batch's answer: withheld when any of its
    operations' answers would be (an ``execute_kw`` of a method outside the ORM's:
    its answer may hold a secret, API.md sections 1 and 8)."""
    try:
        operations = batches.parse(call.json(), call.setting("rest_api.max_batch_operations"))
    except errors.ApiError:
        return routes.KEPT  # the batch fails as a whole, with this error: nothing secret to keep
    for operation in operations:
        path = operation.path.split("?", 1)[0].rstrip("/")
        body = operation.body if isinstance(operation.body, dict) else {}
        if path.endswith("/execute_kw") and methods.answer_may_hold_secret(str(body.get("method"))):
            return routes.WITHHELD
    return routes.KEPT


def batch(call):
    pipeline = call.env["rest.api.pipeline"]
    operations = batches.parse(call.json(), call.setting("rest_api.max_batch_operations"))
    plan = _Plan(_may_group(pipeline, call))
    while True:
        try:
            results = _run_all(pipeline, call, operations, plan)
        except _GroupFailed as failed:
            # undone, as if the batch had not run: again, the group's operations one by one;
            # those before it are not counted again (the first run counted them, and they passed)
            _undo(call.env)
            plan.alone.update(failed.indexes)
            plan.counted = max(plan.counted, failed.indexes[0])
            continue
        return handlers.json_response({"results": results})


def _undo(env):
    """Roll the transaction back as Odoo does before it runs a request again."""
    env.cr.rollback()
    env.reset()
    env.registry.reset_changes()


class _Plan:
    """How a batch's operations run: which creates may be grouped, which are already counted."""

    def __init__(self, grouping):
        self.grouping = grouping
        self.alone = set()  # the operations of a group whose create failed: one by one
        self.counted = 0  # the operations before this one were counted by an earlier run

    def groups(self, operation):
        return self.grouping and operation.index not in self.alone

    def counts(self, operation):
        return operation.index >= self.counted


class _GroupFailed(Exception):  # noqa: N818 -- not an error: the group runs again, one by one
    """The create of a group's list failed: its operations run again, one by one."""

    def __init__(self, indexes):
        super().__init__(indexes)
        self.indexes = indexes


def _run_all(pipeline, call, operations, plan):
    """Run the operations in order; their results, or raise the failure of the first that fails."""
    answers, results = [], []
    group = []  # consecutive creates of one model, checked, not yet run (_Create)
    for operation in operations:
        if group and not _may_join(pipeline, group, operation, answers):
            # its checks see the database as they would alone: everything before it made first
            _run_group(pipeline, call, plan, group, answers, results)
            group = []
        create = _checked_create(pipeline, call, operation, answers) if plan.groups(operation) else None
        if create is not None and group and not _joins(group, create):
            _run_group(pipeline, call, plan, group, answers, results)
            group = []
        if create is not None:
            group.append(create)
            continue
        if group:  # this operation runs alone (its checks fail, or it must): those before it first
            _run_group(pipeline, call, plan, group, answers, results)
            group = []
        _run_alone(pipeline, call, plan, operation, answers, results)
    if group:
        _run_group(pipeline, call, plan, group, answers, results)
    return results


def _run_alone(pipeline, call, plan, operation, answers, results, count=None):
    """Run one operation through the stages, as if sent alone; its failure fails the batch.
    ``count``: whether it is counted against the key's rate limit (None: unless counted before)."""
    try:
        status, headers, body = _run(
            pipeline, call, operation, answers, plan.counts(operation) if count is None else count
        )
    except Exception as exc:
        _raise_failed(call, operation, exc)
    answers.append(body)
    results.append({"status": status, "headers": headers, "body": body})


def _raise_failed(call, operation, exc):
    """Raise the batch's failure: ``operation`` failed with ``exc``."""
    if isinstance(exc, psycopg2.OperationalError):
        raise exc  # a serialisation failure: Odoo rolls back and runs the whole batch again
    if isinstance(exc, psycopg2.IntegrityError):
        # a constraint of the database: the transaction is lost anyway; say it as Odoo would
        call.env.cr.rollback()
        raise _failed(call, operation, service_model._as_validation_error(call.env, exc)) from exc
    raise _failed(call, operation, exc) from exc


def _sub_call(pipeline, call, operation, path, query, body):
    """The ``Call`` of one operation: the batch request's key and user, the operation's route."""
    sub = Call(OperationRequest(call.httprequest, operation.method, path, query, operation.headers))
    sub.request_id = call.request_id
    sub.body = b"" if body is None else serialize.dumps(body)
    sub.route, sub.params = routes.resolve(operation.method, path, pipeline._routes())
    if not runs_in_batch(sub.route):
        raise errors.BadRequest(
            "Only data routes run inside a batch (no login token, document or batch route)."
        )
    sub.credentials, sub.key, sub.token, sub.user_id = call.credentials, call.key, call.token, call.user_id
    return sub


def _run(pipeline, call, operation, answers, count=True):
    path, query = batches.resolve_path(operation, answers)
    body = batches.resolve_body(operation, answers)
    sub = _sub_call(pipeline, call, operation, path, query, body)
    if count:
        pipeline._throttle_operation(sub)
    pipeline._scope(sub)
    return _result(pipeline._run(sub))


def _result(response):
    """(status, headers, body) of an operation's answer, as its result in the batch's answer says it."""
    data = response.get_data()
    answer = json.loads(data) if data else None
    headers = {name: response.headers[name] for name in batches.RESULT_HEADERS if name in response.headers}
    return response.status_code, headers, answer


# ---------------------------------------------------------------- consecutive creates, one ORM create
# Consecutive creates of one model run as one ``create`` of the list of their
# values, as Odoo's own create of a list does: what a record costs (the
# INSERT, defaults, computed fields, checks) is paid once for all of them.
# Each operation is checked as if sent alone first (its route, scopes, its
# values and what they reach), by checks that read no record, so that they
# see what they would alone: an operation that cannot join the pending group
# is checked once the group is made. Each member is counted against the key's
# rate limit, in order, and answered as the create route answers: when the key
# may make fewer calls than the group has members, only those before the first
# it may not make are made, and that one is counted before any of its work.
# If the create of the list fails, the batch is undone and runs again with
# that group's operations one by one, through the stages, as if never
# grouped: the first that fails is the one named, and no operation is counted
# twice. A create runs alone (``_Touches``) when its values, at any depth,
# change existing records (among them the lines named by id, whose check
# reads the database), or name records of its own model; two creates are not
# grouped when one names records of a model the other makes. Not grouped
# either: a create that asks for its records in its answer, or refers to the
# answer of a create not made yet.
class _Create:
    """One create operation of a batch, checked, whose records are not made yet."""

    def __init__(self, operation, sub, vals_list, many, touches):
        self.operation, self.sub, self.vals_list, self.many = operation, sub, vals_list, many
        self.touches = touches


ANY = "*"  # a record id whose model the values do not say (a many2one_reference, properties)


class _Touches:
    """What a create's values reach besides the records they make, at every depth (nested
    creates' values too): ``named``, the models whose existing records they name by id;
    ``made``, the models they make records of (their own, the models it inherits, and those
    of nested creates; ``nested`` these last); ``writes``, whether they change existing
    records (an update or a delete of a record, lines moved to or from a one2many)."""

    def __init__(self, model, vals_list):
        self.named, self.made, self.nested, self.writes = set(), set(), set(), False
        self._makes(model)
        for vals in vals_list:
            self._walk(model, vals)

    def alone(self, model_name):
        """Whether the create runs alone: it changes existing records, or names (or makes in
        its lines) records of its own model, which its model's create may look at (res.partner:
        the first contact of a company without an address gives it its address; a company with
        two new contacts at once keeps none), or ids of models it cannot tell."""
        return self.writes or ANY in self.named or model_name in self.named | self.nested

    def meets(self, other):
        """Whether one of the two names records of a model the other makes: made by one ORM
        create, those the one names could be the other's new records (or not yet be made)."""
        return bool(self.named & other.made or other.named & self.made)

    def _makes(self, model):
        self.made.add(model._name)
        self.made.update(model._inherits)

    def _walk(self, model, vals):
        for name, value in vals.items():
            field = model._fields.get(name)
            if field is None or not value:
                continue
            if field.type == "many2one":
                self.named.add(field.comodel_name)
            elif field.type == "reference":
                self.named.add(str(value).partition(",")[0])
            elif field.type in ("many2one_reference", "properties"):
                self.named.add(ANY)
            elif field.type in ("one2many", "many2many"):
                self._commands(model.env[field.comodel_name], field.type == "one2many", value)

    def _commands(self, comodel, one2many, commands):
        for command in commands:
            code = command[0]
            if code == 0:
                self._makes(comodel)
                self.nested.add(comodel._name)
                self._walk(comodel, command[2])
                continue
            ids = command[2] if code == 6 else [] if code == 5 else [command[1]]
            if not ids:
                continue
            self.named.add(comodel._name)
            # 1 updates, 2 deletes a record; on a one2many, 3, 4 and 6 move lines from their record
            self.writes = self.writes or code in (1, 2) or one2many
            if code == 1:
                self._walk(comodel, command[2])


def _may_join(pipeline, group, operation, answers):
    """Whether ``operation`` may be a create of the pending group's model, told from its path
    and headers alone (nothing read): else the group is made before it is checked."""
    if max(batches.references(operation), default=-1) >= group[0].operation.index:
        return False  # it needs their answers
    if operation.method != "POST" or _prefers(operation):
        return False
    try:
        path, _query = batches.resolve_path(operation, answers)
        route, params = routes.resolve(operation.method, path, pipeline._routes())
    except Exception:  # noqa: BLE001 -- it runs alone, and fails there the same way
        return False
    return route.handler is handlers.create and params.get("model") == group[0].sub.model._name


def _joins(group, create):
    """Whether ``create`` may be made in the same ORM call as ``group``: the same model in
    the same environment, at most as many records as one create call may make, and
    neither names records of a model the other makes."""
    first = group[0].sub.model
    return (
        create.sub.model._name == first._name
        and create.sub.model.env is first.env
        and sum(len(each.vals_list) for each in group) + len(create.vals_list) <= values.MAX_RECORDS
        and not any(create.touches.meets(each.touches) for each in group)
    )


def _may_group(pipeline, call):
    """Whether creates may be grouped in this batch: the stages run as this module knows
    them (no addon wraps the handler's stage), and the key is not known to be over its
    rate limit (its operations are then counted before any work, each alone)."""
    from ..models.rest_api_pipeline import RestApiPipeline  # it reads the route table, which names batch

    if type(pipeline)._run is not RestApiPipeline._run:
        return False
    return call.key is None or not throttle.exhausted(call.env, call.key)


def _checked_create(pipeline, call, operation, answers):
    """A ``_Create`` of ``operation`` if it is a create that can run in a group and passes
    its checks; None when it runs alone (then the stages check it again, and raise).
    Its checks read no record: a create whose checks would (the lines it names) runs alone."""
    if operation.method != "POST" or _prefers(operation):
        return None
    try:
        path, query = batches.resolve_path(operation, answers)
        sub = _sub_call(pipeline, call, operation, path, query, batches.resolve_body(operation, answers))
        if sub.route.handler is not handlers.create:
            return None
        pipeline._scope(sub)
        body, lines = sub.json(), values.Lines()  # the body as the handler reads it
        vals_list = handlers.walled_values(sub, body, "create", lines)
        touches = _Touches(sub.model, vals_list)
        if lines.named or touches.alone(sub.model._name):
            return None
    except psycopg2.Error as exc:
        _raise_failed(call, operation, exc)  # the transaction is lost: nothing after it can run
    except Exception:  # noqa: BLE001 -- it runs alone, and fails there the same way
        return None
    return _Create(operation, sub, vals_list, isinstance(body, list), touches)


def _prefers(operation):
    """Whether the operation asks for its records in its answer (read once they exist: alone)."""
    return any(name.lower() == "prefer" and "return=representation" in value.lower()
               for name, value in operation.headers)  # fmt: skip


def _run_group(pipeline, call, plan, group, answers, results):
    """Make the group's records, by one ORM create of as many of its members, from the first,
    as the key's rate limit lets run; count and answer each; the rest the same way."""
    while group:
        size = _affordable(call, plan, group) if len(group) > 1 else 1  # one: counted first, alone
        if size == 0:  # the key may make no more calls: counted before any of its work, refused
            first, group = group[0], group[1:]
            try:
                pipeline._throttle_operation(first.sub)
            except Exception as exc:
                _raise_failed(call, first.operation, exc)
            # a window opened since: it runs, already counted
            _run_alone(pipeline, call, plan, first.operation, answers, results, count=False)
        elif size == 1:
            _run_alone(pipeline, call, plan, group[0].operation, answers, results)
            group = group[1:]
        else:
            _create_list(pipeline, call, plan, group[:size], answers, results)
            group = group[size:]


def _affordable(call, plan, group):
    """How many of the group's members, from the first, the key's rate limit lets run (as
    far as its count so far says): all of them for a key without one."""
    key = call.key
    if key is None or not key.rate_limit or not any(plan.counts(each.operation) for each in group):
        return len(group)
    left = throttle.remaining(call.env, key)
    for position, create in enumerate(group):
        if plan.counts(create.operation):
            if not left:
                return position
            left -= 1
    return len(group)


def _create_list(pipeline, call, plan, group, answers, results):
    try:
        records = group[0].sub.model.create([vals for create in group for vals in create.vals_list])
        handlers.check_stored_images(records)  # as the create route checks them, alone
    except psycopg2.OperationalError:
        raise  # a serialisation failure: Odoo rolls back and runs the whole batch again
    except Exception as exc:  # noqa: BLE001 -- undone and run again, one by one (batch())
        raise _GroupFailed([create.operation.index for create in group]) from exc
    start = 0
    for create in group:
        mine = records[start : start + len(create.vals_list)]
        start += len(create.vals_list)
        try:
            if plan.counts(create.operation):
                pipeline._throttle_operation(create.sub)
            status, headers, body = _result(handlers.created_answer(create.sub, mine, create.many))
        except Exception as exc:
            _raise_failed(call, create.operation, exc)
        answers.append(body)
        results.append({"status": status, "headers": headers, "body": body})


def _failed(call, operation, exc):
    """The batch's answer when ``operation`` failed with ``exc``: the operation's own error, naming it."""
    error = to_api_error(exc)
    if error is None:
        _logger.error(
            "rest_api request %s: operation %s of the batch failed",
            call.request_id,
            operation.index,
            exc_info=exc,
        )
        error = errors.ApiError(f"An unexpected error occurred; quote request id {call.request_id}.")
    error.extra["operation"] = operation.index
    return error
