"""Domain errors -> HTTP answers, in one place. Every 4xx body says what was wrong and where."""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from neo4j.exceptions import ServiceUnavailable, SessionExpired
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


_CODES = {400: "invalid_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict",
          413: "payload_too_large", 415: "unsupported_encoding", 429: "rate_limited", 503: "unavailable"}


def sdk_fields(status: int, field: str, reason: str) -> dict:
    """`code` and `message`, which the Segment and RudderStack SDKs read from an error answer: without
    them they cannot tell a rejected request from a network failure and retry a 4xx for nothing."""
    return {"code": _CODES.get(status, "error"), "message": f"{field}: {reason}"}


def error_body(errors: list[FieldError], status: int = 400) -> dict:
    first = errors[0]
    return {"success": False, "error": first.reason, "field": first.field,
            "errors": [{"field": e.field, "reason": e.reason} for e in errors],
            **sdk_fields(status, first.field, first.reason)}


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
    async def _field(_: Request, exc: FieldError):
        metrics.REJECTED.labels(str(exc.status)).inc()
        return JSONBody(error_body([exc], exc.status), status_code=exc.status)

    @app.exception_handler(MessageErrors)
    async def _messages(_: Request, exc: MessageErrors):
        status = max(e.status for e in exc.errors)
        metrics.REJECTED.labels(str(status)).inc()
        body = error_body(exc.errors, status)
        if exc.accepted is not None:  # a batch: its valid messages were stored
            body |= {"accepted": exc.accepted, "refused": exc.refused,
                     "message": f"{exc.refused} message{'s' if exc.refused != 1 else ''} refused, "
                                f"{exc.accepted} accepted; first: {body['message']}"}
        return JSONBody(body, status_code=status)

    @app.exception_handler(Unauthorized)
    async def _unauthorized(_: Request, exc: Unauthorized):
        metrics.REJECTED.labels("401").inc()
        return JSONBody({"success": False, "error": exc.reason, "field": "Authorization",
                         **sdk_fields(401, "Authorization", exc.reason)}, status_code=401,
                        headers={"WWW-Authenticate": f'{exc.scheme} realm="cdp"'})

    @app.exception_handler(NotFound)
    async def _not_found(_: Request, exc: NotFound):
        return JSONBody({"success": False, "error": exc.reason, "field": exc.field,
                         **sdk_fields(404, exc.field, exc.reason)}, status_code=404)

    def _unavailable(reason: str, retry_after_s: int) -> JSONBody:
        metrics.REJECTED.labels("503").inc()
        return JSONBody({"success": False, "error": reason, "field": None, **sdk_fields(503, "database", reason)},
                        status_code=503, headers={"Retry-After": str(retry_after_s)})

    @app.exception_handler(ServiceUnavailable)
    @app.exception_handler(SessionExpired)
    async def _database_away(_: Request, exc: Exception):
        return _unavailable("the database is unavailable; retry later", 5)

    @app.exception_handler(StoreBusy)
    async def _busy(_: Request, exc: StoreBusy):
        # Nothing of the request was written; the conflict is with writes already under way.
        return _unavailable("the database is busy with concurrent writes to the same people; retry later", 1)

    @app.exception_handler(ClientDisconnect)
    async def _gone(_: Request, exc: ClientDisconnect):
        # The client hung up while sending its body: nothing was stored and nobody reads the answer.
        # 499 (nginx's "client closed request") keeps these out of the 5xx counts.
        return Response(status_code=499)

    @app.exception_handler(WriterClosed)
    async def _closed(_: Request, exc: WriterClosed):
        return JSONBody({"success": False, "error": str(exc)}, status_code=503, headers={"Retry-After": "1"})

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError):
        errs = [_validation_error(e) for e in exc.errors()]
        return JSONBody(error_body(errs or [FieldError("request", "invalid request")]), status_code=400)
