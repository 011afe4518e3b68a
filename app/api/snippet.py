"""The browser side: GET /cdp.js (app/static/cdp.js), and the source settings document that Segment's
@segment/analytics-next fetches when it starts (`{cdnURL}/v1/projects/{writeKey}/settings`), so that
library can be pointed at this service instead of Segment's CDN. Both are public by design: a page
fetches them before anyone signs in, and the settings hold only the write key the page already has."""
from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.api.deps import services
from app.auth import Unauthorized
from app.errors import NotFound
from app.responses import JSONBody

SNIPPET = Path(__file__).resolve().parent.parent / "static" / "cdp.js"
# The URL carries no version, so a new snippet must reach browsers soon; the ETag makes the
# revalidation after that a 304.
SNIPPET_CACHE = "public, max-age=300"
# The settings name the host the request reached (apiHost): a shared cache must not hand one
# host's answer to another, so browsers may keep it but proxies may not.
SETTINGS_CACHE = "private, max-age=60"

router = APIRouter(tags=["browser"])

_loaded: dict = {}


def snippet() -> tuple[bytes, str]:
    """(the file, its strong ETag), re-read when the file changes."""
    mtime = SNIPPET.stat().st_mtime_ns
    if _loaded.get("mtime") != mtime:
        body = SNIPPET.read_bytes()
        _loaded.update(mtime=mtime, body=body, etag=f'"{hashlib.sha256(body).hexdigest()[:32]}"')
    return _loaded["body"], _loaded["etag"]


def _unchanged(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = [t.strip() for t in if_none_match.split(",")]
    return "*" in tags or any(t.removeprefix("W/") == etag for t in tags)  # If-None-Match compares weakly


@router.get("/cdp.js", summary="The browser snippet (analytics.js-style), with ETag revalidation",
            response_class=Response,
            responses={200: {"content": {"application/javascript": {}}, "description": "The script"},
                       304: {"description": "Unchanged since the ETag given in If-None-Match"}})
async def cdp_js(request: Request) -> Response:
    body, etag = snippet()
    headers = {"ETag": etag, "Cache-Control": SNIPPET_CACHE}
    if _unchanged(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/javascript; charset=utf-8",
                    headers={**headers, "X-Content-Type-Options": "nosniff"})


@router.get("/v1/projects/{write_key}/settings",
            summary="Source settings for @segment/analytics-next, as Segment's CDN serves them")
async def project_settings(write_key: str, request: Request) -> JSONBody:
    try:
        services(request).keyring.source_for(write_key)
    except Unauthorized:
        # A 404, as for any unknown source: a 401 with WWW-Authenticate could open a login prompt.
        raise NotFound("writeKey", "no source has this write key") from None
    api_host = f"{request.url.netloc}/v1"  # the host the page reached us on; the library adds /t, /p, …
    return JSONBody({
        "integrations": {
            "Segment.io": {
                "apiKey": write_key,
                "apiHost": api_host,
                "protocol": request.url.scheme,
                "addBundledMetadata": True,
                "unbundledIntegrations": [],
                "maybeBundledConfigIds": {},
                "versionSettings": {"version": "4.4.7", "componentTypes": ["browser"]},
            },
        },
        "plan": {"track": {"__default": {"enabled": True, "integrations": {}}},
                 "identify": {"__default": {"enabled": True}},
                 "group": {"__default": {"enabled": True}}},
        "edgeFunction": {},
        "analyticsNextEnabled": True,
        "middlewareSettings": {},
        "enabledMiddleware": {},
        # The library reports its own metrics to Segment unless told not to: sample none.
        "metrics": {"sampleRate": 0, "host": api_host},
        "legacyVideoPluginsEnabled": False,
        "remotePlugins": [],
    }, headers={"Cache-Control": SETTINGS_CACHE, "Vary": "Host"})
