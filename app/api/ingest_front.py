"""The ingest POSTs served as a plain ASGI app, ahead of the framework.

At 500 /v1/track requests/s the API process used more CPU than Neo4j, and a sampling profile
showed much of each ingest request in the framework's own machinery (routing, request objects,
dependency solving, exception middleware) around a call that needs none of it. `IngestFront`
answers the ingest paths with the routes' own `accept` and the app's own exception handlers, so
the answers are the same. `CdpApp` sends those requests to it before FastAPI's own `__call__`
(which, per request, also checks through the environment whether OpenTelemetry is configured, and
layers body-limit and telemetry middleware): through the same server-error handler and the same
middleware (RequestContext: request id, access log, metrics; CORS: the browser snippet's headers)
as every route. Every other request, and any other method on these paths, goes to FastAPI.
So ingest POSTs are not traced by FastAPI's OpenTelemetry support when that is configured, and
their bodies are capped by the ingest path itself (`read_capped`), not by FastAPI's body limit.
"""
from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.ingest import INGEST_PATHS, OK, accept, router
from app.responses import JSONBody

_OK_BODY = JSONBody(OK).body
_OK_START = {"type": "http.response.start", "status": 200,
             "headers": [(b"content-type", b"application/json"),
                         (b"content-length", str(len(_OK_BODY)).encode())]}
_OK_BODY_MESSAGE = {"type": "http.response.body", "body": _OK_BODY}


class IngestFront:
    """Answers an ingest POST (`serves`) as its documented route would."""

    def __init__(self):
        # path -> the documented route: RequestContext labels metrics with its path, as for any route.
        self._routes = {r.path: r for r in router.routes if "POST" in getattr(r, "methods", ())}

    @staticmethod
    def serves(scope: Scope) -> bool:
        return scope["type"] == "http" and scope["method"] == "POST" and _route_path(scope) in INGEST_PATHS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = _route_path(scope)
        api = scope["app"]
        scope["route"] = self._routes.get(path)
        request = Request(scope, receive)
        try:
            await accept(request, INGEST_PATHS[path])
        except Exception as exc:  # noqa: BLE001 - answered by the app's handler for it, else re-raised
            handler = _handler_for(api, exc)
            if handler is None:
                raise
            response = await handler(request, exc)
            await response(scope, receive, send)
            return
        # Fresh dicts: servers and outer middleware may add to a message's headers.
        await send({**_OK_START, "headers": list(_OK_START["headers"])})
        await send(dict(_OK_BODY_MESSAGE))


class CdpApp(FastAPI):
    """FastAPI, with the ingest POSTs answered by `ingest_front` (when set) ahead of it."""

    ingest_front: IngestFront | None = None
    _ingest_stack: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        front = self.ingest_front
        if front is None or not front.serves(scope):
            await super().__call__(scope, receive, send)
            return
        if self.root_path:
            scope["root_path"] = self.root_path
        scope["app"] = self
        if self._ingest_stack is None:
            self._ingest_stack = self._build_ingest_stack(front)
        await self._ingest_stack(scope, receive, send)

    def _build_ingest_stack(self, front: IngestFront) -> ASGIApp:
        """As Starlette builds the routes' stack: the server-error handler outermost, then the
        app's middleware, with the front where the router and its exception middleware would be."""
        error_handler = self.exception_handlers.get(500) or self.exception_handlers.get(Exception)
        app: ASGIApp = front
        for cls, args, kwargs in reversed(self.user_middleware):
            app = cls(app, *args, **kwargs)
        return ServerErrorMiddleware(app, handler=error_handler, debug=self.debug)


def _route_path(scope) -> str:
    """The path the router matches: without the app's root_path, which servers put in front of it."""
    path, root = scope.get("path", ""), scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


def _handler_for(api, exc: Exception):
    """The exception handler the app registered for this exception's class or a base of it."""
    handlers = api.exception_handlers
    for cls in type(exc).__mro__:
        if cls in handlers and cls is not Exception:
            return handlers[cls]
    return None
