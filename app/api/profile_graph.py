"""Profile API (profile_graph): a profile's identity graph, explanations, merge history, and the
suspicious-profile report. Admin token required."""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from app.api.deps import require_admin, services
from app.profiles.explain import explain
from app.profiles.graph import profile_graph, to_graphml
from app.profiles.history import profile_history
from app.profiles.resolve import resolve
from app.profiles.suspicious import Thresholds, suspicious_profiles

router = APIRouter(tags=["profiles"], dependencies=[Depends(require_admin)])

_DEFAULTS = Thresholds()
# {ref:path}: an external id may hold a slash (user_id:team/ann, sent as %2F, arrives decoded).
_PROFILE = "/v1/profiles/{ref:path}"


async def _resolve(request: Request, ref: str) -> str:
    svc = services(request)
    return await run_in_threadpool(resolve, svc.driver, svc.settings.neo4j_database, svc.rules, ref)


@router.get(_PROFILE + "/graph", summary="The profile's identity graph (JSON elements, or GraphML)",
            responses={200: {"content": {"application/xml": {}}}})
async def get_graph(ref: str, request: Request, format: Literal["json", "graphml"] = "json"):
    svc = services(request)
    profile_id = await _resolve(request, ref)
    elements = await run_in_threadpool(profile_graph, svc.driver, svc.settings.neo4j_database, profile_id)
    if format == "graphml":
        return Response(to_graphml(elements), media_type="application/xml")
    return elements


@router.get(_PROFILE + "/explain", summary="Why two identifiers share the profile",
            description="Steps name the message that first joined each pair. When both identifiers are on "
                        "the profile but no evidence connects them, the answer is 200 with path null and a "
                        "reason.")
async def get_explain(ref: str, request: Request, a: str = Query(..., min_length=1),
                      b: str = Query(..., min_length=1)) -> dict:
    svc = services(request)
    profile_id = await _resolve(request, ref)
    return await run_in_threadpool(explain, svc.driver, svc.settings.neo4j_database, svc.rules,
                                   profile_id, a, b)


@router.get(_PROFILE + "/history", summary="Merges into the profile, splits, refused joins")
async def get_history(ref: str, request: Request) -> dict:
    svc = services(request)
    profile_id = await _resolve(request, ref)
    return await run_in_threadpool(profile_history, svc.driver, svc.settings.neo4j_database, profile_id)


_MAX_COUNT = 1_000_000  # larger thresholds match nothing; Neo4j integers are 64-bit


@router.get("/v1/reports/suspicious-profiles",
            summary="Profiles with too many identifiers or repeatedly refused joins (inclusive minimums)")
async def get_suspicious(
    request: Request,
    min_anonymous: int = Query(_DEFAULTS.min_anonymous, ge=1, le=_MAX_COUNT, description="at least this many anonymous ids"),
    min_emails: int = Query(_DEFAULTS.min_emails, ge=1, le=_MAX_COUNT, description="at least this many emails"),
    min_phones: int = Query(_DEFAULTS.min_phones, ge=1, le=_MAX_COUNT, description="at least this many phones"),
    min_refusals: int = Query(_DEFAULTS.min_refusals, ge=1, le=_MAX_COUNT, description="a join refused this often"),
    limit: int = Query(100, ge=1, le=1000),
) -> dict:
    svc = services(request)
    thresholds = Thresholds(min_anonymous, min_emails, min_phones, min_refusals)
    return await run_in_threadpool(suspicious_profiles, svc.driver, svc.settings.neo4j_database,
                                   thresholds, limit)
