"""Profile API (profiles): the unified profile document, its timeline, and search."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool

from app.api.deps import int_param, require_admin, services
from app.profiles import search, timeline
from app.profiles.document import profile_document
from app.profiles.resolve import resolve

router = APIRouter(tags=["profiles"], dependencies=[Depends(require_admin)])


@router.get("/v1/profiles", summary="Search live profiles by identifier prefix or whole trait value (any case)")
async def search_profiles(request: Request, q: str | None = None, limit: str | None = None,
                          cursor: str | None = None) -> dict:
    svc = services(request)
    return await run_in_threadpool(search.search_profiles, svc.driver, svc.settings.neo4j_database, q,
                                   limit=int_param("limit", limit, search.DEFAULT_LIMIT), cursor=cursor)


@router.get("/v1/profiles/{ref}", summary="The unified profile: identifiers, traits, computed traits")
async def get_profile(ref: str, request: Request) -> dict:
    svc = services(request)
    db = svc.settings.neo4j_database

    def read() -> dict:
        return profile_document(svc.driver, db, resolve(svc.driver, db, svc.rules, ref))

    return await run_in_threadpool(read)


@router.get("/v1/profiles/{ref}/events", summary="The profile's timeline across sources, newest first")
async def get_timeline(ref: str, request: Request, limit: str | None = None, cursor: str | None = None,
                       types: Annotated[list[str] | None, Query(alias="type")] = None, event: str | None = None,
                       source: str | None = None, since: str | None = None, until: str | None = None) -> dict:
    svc = services(request)
    db = svc.settings.neo4j_database
    q = timeline.timeline_query(limit=int_param("limit", limit, timeline.DEFAULT_LIMIT), cursor=cursor, types=types,
                                event=event, source=source, since=since, until=until)

    def read() -> dict:
        return timeline.read_timeline(svc.driver, db, resolve(svc.driver, db, svc.rules, ref), q)

    return await run_in_threadpool(read)
