"""Segments API: preview, CRUD, members, and the entry/exit feed (admin token)."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import require_admin, require_read, services
from app.db import INT64_MAX
from app.errors import error_body
from app.responses import JSONBody
from app.segments import membership, service
from app.segments.text import FilterSyntaxError

router = APIRouter(tags=["segments"], dependencies=[Depends(require_admin)])
# Preview changes nothing: a POST only because a definition is too big for a query string.
read_router = APIRouter(tags=["segments"], dependencies=[Depends(require_read)])


class Definition(BaseModel):
    """Exactly one of `definition` (the filter tree) or `text` (its SQL-like form)."""

    model_config = ConfigDict(extra="forbid")
    definition: dict[str, Any] | None = None
    text: str | None = Field(default=None, min_length=1, max_length=20_000)

    @property
    def given_as(self) -> str:
        """The field the filter came in, which errors about the filter name."""
        return "text" if self.text is not None else "definition"


class PreviewRequest(Definition):
    sample: int = Field(default=10, ge=0, le=service.MAX_SAMPLE)


class SegmentRequest(Definition):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)


def _syntax_error(exc: FilterSyntaxError) -> JSONBody:
    return JSONBody({**error_body([exc]), "position": exc.position, "expected": exc.expected},
                    status_code=400)


async def _call(fn, *args):
    """Run a domain call off the event loop; a text syntax error answers with its position."""
    try:
        return await run_in_threadpool(fn, *args)
    except FilterSyntaxError as exc:
        return _syntax_error(exc)


@read_router.post("/v1/segments/preview", summary="Count and sample the profiles a definition selects (not saved)")
async def preview(body: PreviewRequest, request: Request):
    svc = services(request)
    db = svc.settings.neo4j_database

    def run() -> dict:
        tree = service.definition(svc.driver, db, body.definition, body.text, svc.rules)
        return service.preview(svc.driver, db, tree, body.sample, body.given_as)

    return await _call(run)


@router.post("/v1/segments", status_code=201, summary="Save a segment; its membership is evaluated at once")
async def create(body: SegmentRequest, request: Request):
    svc = services(request)
    db = svc.settings.neo4j_database

    def run() -> dict:
        tree = service.definition(svc.driver, db, body.definition, body.text, svc.rules)
        return service.create_segment(svc.driver, db, body.name, body.description, tree, body.given_as)

    return await _call(run)


@router.get("/v1/segments", summary="All segments with their member counts")
async def list_all(request: Request) -> dict:
    svc = services(request)
    return await run_in_threadpool(service.list_segments, svc.driver, svc.settings.neo4j_database)


@router.get("/v1/segments/vocabulary", summary="Known trait names and recent track event names (builder hints)")
async def vocabulary(request: Request) -> dict:
    svc = services(request)
    return await run_in_threadpool(service.vocabulary, svc.driver, svc.settings.neo4j_database)


@router.get("/v1/segments/{segment_id}", summary="One segment")
async def get(segment_id: str, request: Request) -> dict:
    svc = services(request)
    return await run_in_threadpool(service.get_segment, svc.driver, svc.settings.neo4j_database, segment_id)


@router.put("/v1/segments/{segment_id}", summary="Replace a segment's definition; re-evaluated at once")
async def replace(segment_id: str, body: SegmentRequest, request: Request):
    svc = services(request)
    db = svc.settings.neo4j_database

    def run() -> dict:
        service.get_segment(svc.driver, db, segment_id)  # 404 before judging the body's definition
        tree = service.definition(svc.driver, db, body.definition, body.text, svc.rules)
        return service.update_segment(svc.driver, db, segment_id, body.name, body.description, tree,
                                      body.given_as)

    return await _call(run)


@router.delete("/v1/segments/{segment_id}", summary="Delete a segment, its memberships and its feed")
async def delete(segment_id: str, request: Request) -> dict:
    svc = services(request)
    db = svc.settings.neo4j_database
    return await run_in_threadpool(service.delete_segment, svc.driver, db, segment_id)


@router.get("/v1/segments/{segment_id}/members", summary="Members, by profile id, one page after `after`")
async def members(segment_id: str, request: Request, after: str | None = Query(default=None, max_length=200),
                  limit: int = Query(default=100, ge=1, le=service.MAX_PAGE)) -> dict:
    svc = services(request)
    db = svc.settings.neo4j_database
    return await run_in_threadpool(service.members, svc.driver, db, segment_id, after, limit)


@router.get("/v1/segments/{segment_id}/changes", summary="Entries and exits after sequence number `after`")
async def changes(segment_id: str, request: Request, after: int = Query(default=0, ge=0, le=INT64_MAX),
                  limit: int = Query(default=1000, ge=1, le=10_000)) -> dict:
    svc = services(request)
    return await run_in_threadpool(membership.changes_since, svc.driver, svc.settings.neo4j_database,
                                   segment_id, after, limit)
