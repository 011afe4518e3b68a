"""The ingest POSTs served as a plain ASGI app, in front of the framework.

At 500 /v1/track requests/s the API process used more CPU than Neo4j, and a sampling profile
showed much of each ingest request in the framework's own machinery (routing, request objects,
dependency solving, exception middleware) around a call that needs none of it. This middleware
answers the ingest paths itself with the routes' own `accept` and the app's own exception
handlers, so the answers are the same; everything else (and any other method on these paths)
passes through. It sits inside
RequestContext (request id, access log, metrics) and CORS (the browser snippet's headers).
"""
from __future__ import annotations

from starlette.requests import Request

from app.api.ingest import INGEST_PATHS, OK, accept, router
from app.responses import JSONBody

_OK_BODY = JSONBody(OK).body
_OK_START = {"type": "http.response.start", "status": 200,
             "headers": [(b"content-type", b"application/json"),
                         (b"content-length", str(len(_OK_BODY)).encode())]}
_OK_BODY_MESSAGE = {"type": "http.response.body", "body": _OK_BODY}


class IngestFront:
    def __init__(self, app):
        self.app = app
        # path -> the documented route: RequestContext labels metrics with its path, as for any route.
        self._routes = {r.path: r for r in router.routes if "POST" in getattr(r, "methods", ())}

    async def __call__(self, scope, receive, send):
        path = _route_path(scope) if scope["type"] == "http" else ""
        if path not in INGEST_PATHS or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
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
