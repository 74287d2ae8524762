"""One exception family for every refusal the API gives, and its RFC 9457 form.

Each class carries its HTTP status and a *safe* message: the text goes to the
client as it is, so it must never contain a submitted secret, a record value
or a traceback.
"""

from __future__ import annotations

PROBLEM_CONTENT_TYPE = "application/problem+json"
# RFC 9457 section 4.2.1: "about:blank" says the status code is all the
# semantics there is; the title is then the status phrase.
PROBLEM_TYPE = "about:blank"


class ApiError(Exception):
    """Base class: an answer with a 4xx/5xx status and a safe detail."""

    status = 500
    title = "Internal Server Error"

    def __init__(self, detail: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.headers = dict(headers or {})
        self.extra: dict = {}  # extension members of the problem (RFC 9457 section 3.2): "operation"

    def problem(self, request_id: str | None = None) -> dict:
        """The problem+json body of this error."""
        return dict(problem_body(self.status, self.title, self.detail, request_id), **self.extra)


class BadRequest(ApiError):
    status = 400
    title = "Bad Request"


class Unauthorized(ApiError):
    status = 401
    title = "Unauthorized"

    def __init__(self, detail: str | None = None, headers: dict[str, str] | None = None):
        headers = dict(headers or {})
        # RFC 9110 section 11.6.1: a 401 names the scheme(s) the client may use.
        headers.setdefault("WWW-Authenticate", 'Bearer realm="rest_api", error="invalid_token"')
        super().__init__(detail or "A valid API key is required.", headers)


class Forbidden(ApiError):
    status = 403
    title = "Forbidden"


class NotFound(ApiError):
    status = 404
    title = "Not Found"


class MethodNotAllowed(ApiError):
    status = 405
    title = "Method Not Allowed"

    def __init__(self, allowed: list[str], detail: str | None = None):
        allow = ", ".join(sorted(set(allowed)))
        super().__init__(detail or f"Allowed methods: {allow}.", {"Allow": allow})
        self.allowed = allowed


class Conflict(ApiError):
    status = 409
    title = "Conflict"


class Gone(ApiError):
    status = 410
    title = "Gone"


class PreconditionFailed(ApiError):
    status = 412
    title = "Precondition Failed"


class PayloadTooLarge(ApiError):
    status = 413
    title = "Content Too Large"


class RangeNotSatisfiable(ApiError):
    status = 416
    title = "Range Not Satisfiable"

    def __init__(self, size: int | None, detail: str | None = None):
        # RFC 9110 section 14.4: the complete length, so that the client can ask again
        headers = {"Content-Range": f"bytes */{size}"} if size is not None else {}
        super().__init__(detail or "The Range asks for bytes the content does not have.", headers)


class Unprocessable(ApiError):
    status = 422
    title = "Unprocessable Content"


class TooManyRequests(ApiError):
    status = 429
    title = "Too Many Requests"

    def __init__(self, retry_after: int, detail: str | None = None, headers: dict[str, str] | None = None):
        headers = dict(headers or {})
        headers["Retry-After"] = str(max(1, int(retry_after)))
        super().__init__(detail or "Rate limit exceeded; retry later.", headers)
        self.retry_after = retry_after


class ServiceUnavailable(ApiError):
    status = 503
    title = "Service Unavailable"

    def __init__(
        self, detail: str | None = None, headers: dict[str, str] | None = None, retry_after: int = 5
    ):
        super().__init__(detail or "The service is unavailable; retry later.", headers)
        self.headers.setdefault("Retry-After", str(retry_after))


def problem_body(status: int, title: str, detail: str, request_id: str | None = None) -> dict:
    """An RFC 9457 problem document."""
    body = {
        "type": PROBLEM_TYPE,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if request_id:
        body["request_id"] = request_id
    return body
