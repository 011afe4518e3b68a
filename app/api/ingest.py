"""Segment HTTP Tracking API: /v1/track, identify, page, screen, group, alias, batch, import.

`accept` is the whole of an ingest request: auth, body, rate limit, validation, durable write.
These FastAPI routes call it and document the API; app/api/ingest_front.py serves the same paths
with the same `accept` and error handlers, without the framework's per-request machinery.
"""
from __future__ import annotations

from fastapi import APIRouter, Request

from app import metrics
from app.api.body import read_capped
from app.api.deps import services
from app.ingest.messages import (AliasMessage, BatchRequest, GroupMessage, IdentifyMessage, MessageErrors,
                                 PageMessage, ScreenMessage, TrackMessage)
from app.ingest.service import decode_body
from app.responses import JSONBody

router = APIRouter(tags=["ingest"])

OK = {"success": True}
BATCH = "batch"  # the `msg_type` of the batch routes

# Path -> message type: None for /api/track (type in the body), BATCH for the batch routes.
INGEST_PATHS: dict[str, str | None] = {
    "/v1/track": "track", "/v1/identify": "identify", "/v1/page": "page", "/v1/screen": "screen",
    "/v1/group": "group", "/v1/alias": "alias",
    # The short paths @segment/analytics-next posts to: `{apiHost}/` + the type's first letter.
    "/v1/t": "track", "/v1/i": "identify", "/v1/p": "page", "/v1/s": "screen", "/v1/g": "group",
    "/v1/a": "alias",
    "/api/track": None,
    "/v1/batch": BATCH, "/v1/b": BATCH, "/v1/import": BATCH,
}


async def accept(request: Request, msg_type: str | None) -> None:
    """Returns once the request's messages are durable; raises the domain errors errors.py answers
    (for a batch with invalid messages, once its valid ones are durable).
    A key in the Basic header is checked before the body is read; without one the body must be
    read to find its writeKey. The rate limit comes after auth (an unknown key is a 401, not a
    bucket) and before validation's work."""
    svc = services(request)
    authorization = request.headers.get("authorization")
    limit = svc.settings.max_batch_bytes if msg_type == BATCH else svc.settings.max_message_bytes
    source = svc.ingest.header_source(authorization)
    # The slack lets a gzip body of incompressible data, a little larger than its content, through;
    # decode_body applies the exact limit to the decoded body.
    raw = await read_capped(request, limit + limit // 100 + 1024, limit)
    body = decode_body(raw, request.headers.get("content-encoding"), limit)
    source = source or svc.ingest.source(authorization, body)
    if svc.rate_limit:
        await svc.rate_limit.check(authorization, body)
    refused = None
    if msg_type == BATCH:
        prepared, refused = svc.ingest.batch_parts(body, source)
    else:
        try:
            prepared = svc.ingest.single(body, msg_type, source)
        except MessageErrors:
            metrics.MESSAGES_REFUSED.inc()
            raise
    if prepared:
        await svc.writer.submit(prepared)
    if refused is not None:
        # A batch stores its valid messages and names the others: the SDKs drop a batch answered
        # 400, so refusing it whole would lose every good message beside a bad one.
        metrics.MESSAGES_REFUSED.inc(refused.refused)
        refused.accepted = len(prepared)
        raise refused


def _body_doc(model) -> dict:
    """Documents the body; models with nested $defs are described by their top-level shape."""
    schema = model.model_json_schema()
    schema.pop("$defs", None)
    if model is BatchRequest:
        schema["properties"]["batch"] = {"type": "array", "items": {"type": "object"}}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _route(path: str, msg_type: str | None, model, summary: str, name: str) -> None:
    async def endpoint(request: Request) -> JSONBody:
        await accept(request, msg_type)
        return JSONBody(OK)

    endpoint.__name__ = name
    router.add_api_route(path, endpoint, methods=["POST"], summary=summary, openapi_extra=_body_doc(model),
                         name=name)


_MODELS = {"track": TrackMessage, "identify": IdentifyMessage, "page": PageMessage, "screen": ScreenMessage,
           "group": GroupMessage, "alias": AliasMessage, None: TrackMessage, BATCH: BatchRequest}
# (summary, route name) where the message type alone does not say it.
_DOCS = {"/api/track": ("Any single message, its type given in the body", "ingest_typed"),
         "/v1/batch": ("Segment batch", "ingest_batch"),
         "/v1/b": ("Segment batch (analytics-next's path)", "ingest_batch_short"),
         "/v1/import": ("Segment import (as batch)", "ingest_import")}

for _path, _type in INGEST_PATHS.items():
    _summary, _name = _DOCS.get(_path, (f"Segment {_type} call", f"ingest_{_type}"))
    _route(_path, _type, _MODELS[_type], _summary, _name)
