"""Reads of stored events (admin token)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool

from app.api.deps import require_admin, services
from app.errors import NotFound
from app.events import read_event

router = APIRouter(tags=["events"], dependencies=[Depends(require_admin)])


@router.get("/v1/events/{message_id:path}", summary="A stored event and its current (post-merge) profile")
async def get_event(message_id: str, request: Request) -> dict:
    svc = services(request)
    event = await run_in_threadpool(read_event, svc.driver, svc.settings.neo4j_database, message_id)
    if event is None:
        raise NotFound("messageId", f"no event with messageId {message_id!r}")
    return event
