"""Segment HTTP Tracking API: /v1/track, identify, page, screen, group, alias, batch, import."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import ORJSONResponse

from app.api.deps import services
from app.ingest.messages import (AliasMessage, BatchRequest, GroupMessage, IdentifyMessage, PageMessage,
                                 ScreenMessage, TrackMessage)
from app.ingest.service import decode_body

router = APIRouter(tags=["ingest"])

_OK = {"success": True}


def _body_doc(model) -> dict:
    """Documents the body; models with nested $defs are described by their top-level shape."""
    schema = model.model_json_schema()
    schema.pop("$defs", None)
    if model is BatchRequest:
        schema["properties"]["batch"] = {"type": "array", "items": {"type": "object"}}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


async def _ingest_single(request: Request, msg_type: str | None) -> ORJSONResponse:
    svc = services(request)
    body = decode_body(await request.body(), request.headers.get("content-encoding"),
                       svc.settings.max_message_bytes)
    source = svc.ingest.source(request.headers.get("authorization"), body)
    prepared = svc.ingest.single(body, msg_type, source)
    await svc.writer.submit(prepared)
    return ORJSONResponse(_OK)


def _single_route(path: str, msg_type: str, model) -> None:
    async def endpoint(request: Request) -> ORJSONResponse:
        return await _ingest_single(request, msg_type)

    endpoint.__name__ = f"ingest_{msg_type}"
    router.add_api_route(path, endpoint, methods=["POST"], summary=f"Segment {msg_type} call",
                         openapi_extra=_body_doc(model))


for _path, _type, _model in (
    ("/v1/track", "track", TrackMessage),
    ("/v1/identify", "identify", IdentifyMessage),
    ("/v1/page", "page", PageMessage),
    ("/v1/p", "page", PageMessage),
    ("/v1/screen", "screen", ScreenMessage),
    ("/v1/group", "group", GroupMessage),
    ("/v1/alias", "alias", AliasMessage),
):
    _single_route(_path, _type, _model)


@router.post("/api/track", summary="Any single message, its type given in the body",
             openapi_extra=_body_doc(TrackMessage))
async def ingest_typed(request: Request) -> ORJSONResponse:
    return await _ingest_single(request, None)


async def _ingest_batch(request: Request) -> ORJSONResponse:
    svc = services(request)
    body = decode_body(await request.body(), request.headers.get("content-encoding"),
                       svc.settings.max_batch_bytes)
    source = svc.ingest.source(request.headers.get("authorization"), body)
    prepared = svc.ingest.batch(body, source)
    await svc.writer.submit(prepared)
    return ORJSONResponse(_OK)


router.add_api_route("/v1/batch", _ingest_batch, methods=["POST"], summary="Segment batch",
                     openapi_extra=_body_doc(BatchRequest), name="ingest_batch")
router.add_api_route("/v1/import", _ingest_batch, methods=["POST"], summary="Segment import (as batch)",
                     openapi_extra=_body_doc(BatchRequest), name="ingest_import")
