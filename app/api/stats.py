"""Dashboard figures (admin token, read scope)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool

from app.api.deps import require_admin, services
from app.stats import MAX_HOURS, ingest_overview

router = APIRouter(tags=["stats"], dependencies=[Depends(require_admin)])


@router.get("/v1/stats/ingest", summary="Events per source over time, top track events, graph totals")
async def get_ingest_stats(request: Request, hours: int = Query(24, ge=1, le=MAX_HOURS,
                                                                description="window ending now")) -> dict:
    svc = services(request)
    return await run_in_threadpool(ingest_overview, svc.driver, svc.settings.neo4j_database, hours)
