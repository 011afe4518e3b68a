"""Segment HTTP Tracking API: /v1/track, identify, page, screen, group, alias, batch, import."""
from __future__ import annotations

from fastapi import APIRouter, Request

from app.api.body import read_capped
from app.api.deps import services
from app.ingest.messages import (
    AliasMessage,
    BatchRequest,
    GroupMessage,
    IdentifyMessage,
    PageMessage,
    ScreenMessage,
    TrackMessage,
)
from app.ingest.service import decode_body
from app.responses import JSONBody

router = APIRouter(tags=["ingest"])

_OK = {"success": True}


def _body_doc(model) -> dict:
    """Documents the body; models with nested $defs are described by their top-level shape."""
    schema = model.model_json_schema()
    schema.pop("$defs", None)
    if model is BatchRequest:
        schema["properties"]["batch"] = {"type": "array", "items": {"type": "object"}}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


async def _authenticated_body(request: Request, limit: int) -> tuple[str, object]:
    """(source, decoded body). A key in the Basic header is checked before the body is read; without
    one the body must be read to find its writeKey."""
    svc = services(request)
    authorization = request.headers.get("authorization")
    source = svc.ingest.header_source(authorization)
    body = decode_body(await _read(request, limit), request.headers.get("content-encoding"), limit)
    source = source or svc.ingest.source(authorization, body)
    if svc.rate_limit:  # after auth (an unknown key is a 401, not a bucket), before validation's work
        await svc.rate_limit.check(authorization, body)
    return source, body


async def _read(request: Request, limit: int) -> bytes:
    """The slack lets a gzip body of incompressible data, a little larger than its content, through;
    decode_body applies the exact limit to the decoded body."""
    return await read_capped(request, limit + limit // 100 + 1024, limit)


async def _ingest_single(request: Request, msg_type: str | None) -> JSONBody:
    svc = services(request)
    source, body = await _authenticated_body(request, svc.settings.max_message_bytes)
    prepared = svc.ingest.single(body, msg_type, source)
    await svc.writer.submit(prepared)
    return JSONBody(_OK)


def _single_route(path: str, msg_type: str, model) -> None:
    async def endpoint(request: Request) -> JSONBody:
        return await _ingest_single(request, msg_type)

    endpoint.__name__ = f"ingest_{msg_type}"
    router.add_api_route(path, endpoint, methods=["POST"], summary=f"Segment {msg_type} call",
                         openapi_extra=_body_doc(model))


for _path, _type, _model in (
    ("/v1/track", "track", TrackMessage),
    ("/v1/identify", "identify", IdentifyMessage),
    ("/v1/page", "page", PageMessage),
    ("/v1/screen", "screen", ScreenMessage),
    ("/v1/group", "group", GroupMessage),
    ("/v1/alias", "alias", AliasMessage),
    # The short paths @segment/analytics-next posts to: `{apiHost}/` + the type's first letter.
    ("/v1/t", "track", TrackMessage),
    ("/v1/i", "identify", IdentifyMessage),
    ("/v1/p", "page", PageMessage),
    ("/v1/s", "screen", ScreenMessage),
    ("/v1/g", "group", GroupMessage),
    ("/v1/a", "alias", AliasMessage),
):
    _single_route(_path, _type, _model)


@router.post("/api/track", summary="Any single message, its type given in the body",
             openapi_extra=_body_doc(TrackMessage))
async def ingest_typed(request: Request) -> JSONBody:
    return await _ingest_single(request, None)


async def _ingest_batch(request: Request) -> JSONBody:
    svc = services(request)
    source, body = await _authenticated_body(request, svc.settings.max_batch_bytes)
    prepared = svc.ingest.batch(body, source)
    await svc.writer.submit(prepared)
    return JSONBody(_OK)


router.add_api_route("/v1/batch", _ingest_batch, methods=["POST"], summary="Segment batch",
                     openapi_extra=_body_doc(BatchRequest), name="ingest_batch")
router.add_api_route("/v1/b", _ingest_batch, methods=["POST"], summary="Segment batch (analytics-next's path)",
                     openapi_extra=_body_doc(BatchRequest), name="ingest_batch_short")
router.add_api_route("/v1/import", _ingest_batch, methods=["POST"], summary="Segment import (as batch)",
                     openapi_extra=_body_doc(BatchRequest), name="ingest_import")
