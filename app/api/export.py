"""Bulk export (admin token; a read-scope token may export): events in event-time order and live
profiles' documents, cursor-paginated. `cdp export` writes the same pages to a file."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool

from app import export
from app.api.deps import int_param, require_admin, services

router = APIRouter(tags=["export"], dependencies=[Depends(require_admin)])


@router.get("/v1/export/events", summary="Every stored event, oldest first, with its current profileId")
async def export_events(request: Request, since: str | None = None, until: str | None = None,
                        source: str | None = None, types: Annotated[list[str] | None, Query(alias="type")] = None,
                        limit: str | None = None, cursor: str | None = None) -> dict:
    svc = services(request)
    q = export.event_export(limit=int_param("limit", limit, export.EVENTS_DEFAULT_LIMIT), cursor=cursor, types=types,
                            source=source, since=since, until=until)
    return await run_in_threadpool(export.events_page, svc.driver, svc.settings.neo4j_database, q)


@router.get("/v1/export/profiles", summary="Every live profile's document, by profile id")
async def export_profiles(request: Request, seen_since: Annotated[str | None, Query(alias="seenSince")] = None,
                          limit: str | None = None, cursor: str | None = None) -> dict:
    svc = services(request)
    q = export.profile_export(limit=int_param("limit", limit, export.PROFILES_DEFAULT_LIMIT), cursor=cursor,
                              seen_since=seen_since)
    return await run_in_threadpool(export.profiles_page, svc.driver, svc.settings.neo4j_database, q)
