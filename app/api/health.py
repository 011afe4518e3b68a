"""Liveness, readiness and Prometheus metrics."""
from __future__ import annotations

import redis
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.api.deps import services
from app.responses import JSONBody

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict:
    return {"status": "ok"}


def _check(svc) -> dict:
    checks = {}
    try:
        svc.driver.verify_connectivity()
        checks["neo4j"] = "ok"
    except Exception as exc:  # noqa: BLE001 - report, don't raise
        checks["neo4j"] = f"error: {type(exc).__name__}"
    try:
        client = redis.Redis.from_url(svc.settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
        client.ping()
        client.close()
        checks["redis"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["redis"] = f"error: {type(exc).__name__}"
    return checks


@router.get("/readyz", summary="Readiness: Neo4j and Redis reachable")
async def readyz(request: Request) -> JSONBody:
    checks = await run_in_threadpool(_check, services(request))
    ok = all(v == "ok" for v in checks.values())
    return JSONBody({"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}})
async def prometheus_metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
