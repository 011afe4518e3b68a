"""Domain errors -> HTTP answers, in one place. Every 4xx body says what was wrong and where."""
from __future__ import annotations

import functools
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.utils import is_body_allowed_for_status_code
from neo4j.exceptions import ServiceUnavailable, SessionExpired
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from app import metrics
from app.auth import Unauthorized
from app.identity.store import StoreBusy
from app.ingest.messages import FieldError, MessageErrors
from app.ingest.writer import WriterClosed
from app.responses import JSONBody


class NotFound(Exception):
    def __init__(self, field: str, reason: str):
        super().__init__(reason)
        self.field = field
        self.reason = reason


_CODES = {400: "invalid_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 409: "conflict", 413: "payload_too_large", 415: "unsupported_encoding",
          429: "rate_limited", 503: "unavailable"}


def sdk_fields(status: int, field: str, reason: str) -> dict:
    """`code` and `message`, which the Segment and RudderStack SDKs read from an error answer: without
    them they cannot tell a rejected request from a network failure and retry a 4xx for nothing."""
    return {"code": _CODES.get(status, "error"), "message": f"{field}: {reason}"}


def error_body(errors: list[FieldError], status: int = 400, about: str | None = None) -> dict:
    """`about`: what the SDK message names when no request field is at fault (the database)."""
    first = errors[0]
    return {"success": False, "error": first.reason, "field": first.field,
            "errors": [{"field": e.field, "reason": e.reason} for e in errors],
            **sdk_fields(status, about or first.field or "request", first.reason)}


def _answer(status: int, field: str | None, reason: str, headers: dict | None = None,
            about: str | None = None) -> JSONBody:
    """One error as its own answer."""
    return JSONBody(error_body([FieldError(field, reason, status)], status, about), status_code=status,
                    headers=headers)


@functools.cache
def _ingest_routes() -> frozenset[str]:
    # Imported late: these modules import this one (through app.api.deps and app.ratelimit).
    from app.api.ingest import INGEST_PATHS
    from app.api.stripe import router as stripe

    # The Stripe webhook is a source like a write key: its events are counted as ingested messages.
    return frozenset(INGEST_PATHS) | {r.path for r in stripe.routes}


def count_rejection(request: Request, status: int) -> None:
    """cdp_ingest_rejected_total counts ingestion requests only; other routes' errors are in
    cdp_http_request_seconds by status."""
    if getattr(request.scope.get("route"), "path", None) in _ingest_routes():
        metrics.REJECTED.labels(str(status)).inc()


def _request_field(loc: tuple) -> str:
    """('body', 'identifiers', 0) -> 'identifiers[0]'; the body/query/path prefix says nothing."""
    if len(loc) > 1 and loc[0] in ("body", "query", "path", "header"):
        loc = loc[1:]
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


def _validation_error(e: dict) -> FieldError:
    """One of FastAPI's validation errors as ours: a body that is not JSON is `body` (FastAPI locates
    it at `body[0]`), and a validator's own message loses pydantic's "Value error, " prefix."""
    if e.get("type") == "json_invalid":
        return FieldError("body", f"invalid JSON: {(e.get('ctx') or {}).get('error', e['msg'])}")
    reason = e["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return FieldError(_request_field(tuple(e["loc"])), reason)


def install(app: FastAPI) -> None:
    @app.exception_handler(FieldError)
    async def _field(request: Request, exc: FieldError):
        count_rejection(request, exc.status)
        return JSONBody(error_body([exc], exc.status), status_code=exc.status)

    @app.exception_handler(MessageErrors)
    async def _messages(request: Request, exc: MessageErrors):
        status = max(e.status for e in exc.errors)
        count_rejection(request, status)
        body = error_body(exc.errors, status)
        if exc.accepted is not None:  # a batch: its valid messages were stored
            body |= {"accepted": exc.accepted, "refused": exc.refused,
                     "message": f"{exc.refused} message{'s' if exc.refused != 1 else ''} refused, "
                                f"{exc.accepted} accepted; first: {body['message']}"}
        return JSONBody(body, status_code=status)

    @app.exception_handler(Unauthorized)
    async def _unauthorized(request: Request, exc: Unauthorized):
        count_rejection(request, 401)
        return _answer(401, "Authorization", exc.reason, {"WWW-Authenticate": f'{exc.scheme} realm="cdp"'})

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound):
        count_rejection(request, 404)
        return _answer(404, exc.field, exc.reason)

    def _unavailable(request: Request, reason: str, retry_after_s: int) -> JSONBody:
        count_rejection(request, 503)
        return _answer(503, None, reason, {"Retry-After": str(retry_after_s)}, about="database")

    @app.exception_handler(ServiceUnavailable)
    @app.exception_handler(SessionExpired)
    async def _database_away(request: Request, exc: Exception):
        return _unavailable(request, "the database is unavailable; retry later", 5)

    @app.exception_handler(StoreBusy)
    async def _busy(request: Request, exc: StoreBusy):
        # Nothing of the request was written; the conflict is with writes already under way.
        return _unavailable(request, "the database is busy with concurrent writes to the same people; retry later", 1)

    @app.exception_handler(ClientDisconnect)
    async def _gone(_: Request, exc: ClientDisconnect):
        # The client hung up while sending its body: nothing was stored and nobody reads the answer.
        # 499 (nginx's "client closed request") keeps these out of the 5xx counts.
        return Response(status_code=499)

    @app.exception_handler(WriterClosed)
    async def _closed(request: Request, exc: WriterClosed):
        count_rejection(request, 503)
        return _answer(503, None, str(exc), {"Retry-After": "1"}, about="service")

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        count_rejection(request, 400)
        errs = [_validation_error(e) for e in exc.errors()]
        return JSONBody(error_body(errs or [FieldError("request", "invalid request")]), status_code=400)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException):
        """The framework's own refusals (no such path, a method the path does not take) in our shape.
        Not counted as ingest rejections: a GET on an ingest path is not an ingestion request."""
        status = exc.status_code
        if not is_body_allowed_for_status_code(status):
            return Response(status_code=status, headers=exc.headers)
        # 400 and 413 are FastAPI's "error parsing the body" and a body over its limit.
        field = {400: "body", 404: "path", 405: "method", 413: "body"}.get(status, "request")
        reason = str(exc.detail)
        if exc.detail == HTTPStatus(status).phrase:  # a bare "Not Found" says neither what nor where
            path = request.url.path
            if status == 404:
                reason = f"no such path: {path}"
            elif status == 405:
                allowed = (exc.headers or {}).get("Allow")
                reason = f"{request.method} is not allowed on {path}" + (f"; allowed: {allowed}" if allowed else "")
        return _answer(status, field, reason, exc.headers)
