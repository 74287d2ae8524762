"""Token routes (API.md section 2): generate_token, auth/login, auth/refresh, auth/logout."""

import secrets
import time

from odoo.exceptions import AccessDenied
from odoo.http import request

from ..infra import throttle
from ..lib import errors, serialize
from ..models.rest_api_token import MAX_TOKEN_DAYS
from . import handlers

GENERATED = "JWT Token generated successfully."


def _object_body(call):
    body = call.json()
    if not isinstance(body, dict):
        raise errors.BadRequest("The body must be a JSON object.")
    return body


def _positive_int(body, name, maximum, default=None):
    value = body.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= maximum:
        raise errors.BadRequest(f"{name!r} must be a whole number from 1 to {maximum}.")
    return value


def _user_info(user):
    return {"user_id": user.id, "user_name": user.name, "user_login": user.login}


def generate_token(call):
    """A login token for the key's user, or for another user when that user is a
    REST API manager holding every group of that user. Never with a login token:
    a token must not mint a longer-lived one outside its login's chain."""
    if call.token is not None:
        raise errors.Forbidden(
            "generate_token needs the API key alone: a login token cannot issue tokens "
            "(use /api/auth/refresh)."
        )
    body = _object_body(call)
    user_id = _positive_int(body, "user_id", 2**31 - 1)
    days = _positive_int(body, "expiration_days", MAX_TOKEN_DAYS, default=1)
    if not request.env["rest.api.token"]._may_issue_for(request.env["res.users"].browse(user_id)):
        raise errors.Forbidden(
            "Only a REST API manager may issue tokens for other users, and only for users "
            "whose groups the manager holds too."
        )
    user = request.env["res.users"].sudo().browse(user_id).exists()
    if not user or not user.active:
        raise errors.NotFound(f"No active user with id {user_id}.")
    token, expiry, _record = request.env["rest.api.token"]._issue_access(user, call.key.id, days * 86400)
    return handlers.json_response({
        "login_token": token, "message": GENERATED, "token_type": "JWT", "expires_in_days": days,
        "expiration_date": serialize.iso_datetime(expiry), "user_info": _user_info(user),
    })  # fmt: skip


def _tokens_answer(call, user, chain=None):
    Token = request.env["rest.api.token"]
    seconds = call.setting("rest_api.access_token_ttl")
    access, _expiry, record = Token._issue_access(user, call.key.id, seconds, chain)
    refresh = Token._issue_refresh(
        user, call.key.id, call.setting("rest_api.refresh_token_ttl"), record.chain
    )
    return handlers.json_response({
        "access_token": access, "token_type": "Bearer", "expires_in": seconds, "refresh_token": refresh,
        "user_info": _user_info(user),
    })  # fmt: skip


def _key_itself(call, route):
    """Login tokens are minted with the API key itself: an OAuth access token (which travels
    without its key) stands for no key here, whatever its scope (API.md section 14)."""
    if call.token is not None and call.token.oauth:
        raise errors.Forbidden(
            f"{route} needs the API key itself (header api-key): an OAuth access token cannot log in "
            "or refresh a login."
        )


def auth_login(call):
    """Odoo's own credential check (an Odoo API key is accepted as password),
    with failed attempts throttled per client address."""
    _key_itself(call, "/api/auth/login")
    body = _object_body(call)
    login, password = body.get("login"), body.get("password")
    if not all(isinstance(v, str) and 0 < len(v) <= 1024 for v in (login, password)):
        raise errors.BadRequest('"login" and "password" must be non-empty strings.')
    env, address = request.env, call.httprequest.remote_addr
    verdict = throttle.login_verdict(env, address)
    if not verdict.allowed:
        raise errors.TooManyRequests(
            verdict.retry_after, "Too many failed logins from this address; retry later."
        )
    credential = {"type": "password", "login": login, "password": password}
    started = time.perf_counter()
    try:
        uid = env["res.users"].sudo().authenticate(env.cr.dbname, credential, {"interactive": False})["uid"]
    except AccessDenied:
        _pad_failure(env, password, time.perf_counter() - started)
        throttle.login_failed(env, address)
        # answered, not raised: the failure must be counted, not rolled back
        return request.dispatcher.refusal(errors.Unauthorized("Wrong login or password."))
    return _tokens_answer(call, env["res.users"].sudo().browse(uid))


_DUMMY = {}  # password hashing settings -> (a hash of a random password, seconds verifying it takes)


def _pad_failure(env, password, elapsed):
    """A failed login takes as long as a wrong password's hash check (API.md section 8):
    an unknown, archived or password-less login fails without one, and the
    time would tell which logins exist. Pad it with the check of a random hash."""
    crypt = env["res.users"].sudo()._crypt_context()
    settings = env["ir.config_parameter"].sudo().get_param("password.hashing.rounds", "")
    if settings not in _DUMMY:
        dummy = crypt.hash(secrets.token_hex(16))
        begun = time.perf_counter()
        crypt.verify(password, dummy)
        _DUMMY[settings] = (dummy, time.perf_counter() - begun)
        return
    dummy, cost = _DUMMY[settings]
    if elapsed < cost * 0.8:
        crypt.verify(password, dummy)


def auth_refresh(call):
    _key_itself(call, "/api/auth/refresh")
    record = request.env["rest.api.token"]._use_refresh(_object_body(call).get("refresh_token"), call.key.id)
    problem = record._refresh_problem()
    if problem:
        # answered, not raised: revoking a reused token's chain must be kept
        return request.dispatcher.refusal(errors.Unauthorized(problem))
    record.write({"spent": True, "revoked": True})
    return _tokens_answer(call, record.user_id, record.chain)


def auth_logout(call):
    body = call.json() if call.httprequest.content_length else {}
    Token = request.env["rest.api.token"]
    if call.token is not None:
        chain = call.token.chain
    elif isinstance(body, dict) and body.get("refresh_token"):
        chain = Token._use_refresh(body["refresh_token"], call.key.id).chain
    else:
        raise errors.BadRequest('Send the login token in a header, or {"refresh_token": ...}.')
    Token._revoke_chain(chain)
    return handlers.json_response({"message": "Logged out: the token and its chain are revoked."})
