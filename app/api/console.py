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
        # Compressed here only: the bundle (cytoscape included) is ~480 KB, ~150 KB gzipped, while
        # ingest answers are tiny and should not pay for a compression layer.
        app.mount("/console", GZipMiddleware(StaticFiles(directory=dist, html=True), minimum_size=1024),
                  name="console")
        return

    @app.get("/console/{rest:path}", include_in_schema=False)
    async def console_missing(rest: str) -> PlainTextResponse:
        return PlainTextResponse("The admin console is not built: run scripts/console.sh build", status_code=503)
