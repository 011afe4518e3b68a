"""The admin console's static bundle (console/dist, built by scripts/console.sh) at /console/.

The page itself holds no secret: it asks for an admin token and calls the same /v1 API with it.
"""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import PlainTextResponse, RedirectResponse
from starlette.middleware.gzip import GZipMiddleware
from starlette.staticfiles import StaticFiles

CONSOLE_DIST = Path(__file__).resolve().parents[2] / "console" / "dist"

# The console holds an admin token: nothing but its own bundle may run, load or frame it. The one
# inline style allowed, by hash, is the rule cytoscape injects for its container
# ('.__________cytoscape_container { position: relative; }'); the browser tests fail on any CSP report.
CYTOSCAPE_STYLE_HASH = b"'sha256-pgvDUBa4IjFA2yuSJ2cqcyxmNYJMborsd0ORcRv9vw8='"
SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'none'; script-src 'self'; style-src 'self' " + CYTOSCAPE_STYLE_HASH + b"; "
     b"img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


class SecurityHeaders:
    """ASGI wrapper adding SECURITY_HEADERS to every response of the wrapped app."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        async def with_headers(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await send(message)

        await self.app(scope, receive, with_headers)

router = APIRouter(include_in_schema=False)


@router.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse("/console/")


@router.get("/console")
async def console_slash() -> RedirectResponse:
    return RedirectResponse("/console/")


def install(app: FastAPI, dist: Path = CONSOLE_DIST) -> None:
    app.include_router(router)
    if (dist / "index.html").is_file():
        # Compressed here only: the bundle (cytoscape included) is ~490 KB, ~160 KB gzipped, while
        # ingest answers are tiny and should not pay for a compression layer.
        static = StaticFiles(directory=dist, html=True)
        app.mount("/console", SecurityHeaders(GZipMiddleware(static, minimum_size=1024)), name="console")
        return

    @app.get("/console/{rest:path}", include_in_schema=False)
    async def console_missing(rest: str) -> PlainTextResponse:
        return PlainTextResponse("The admin console is not built: run scripts/console.sh build", status_code=503)
