"""Destinations, syncs, runs and dead letters (admin token)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from app.api.deps import Services, require_admin, services
from app.db import INT64_MAX
from app.destinations.feed import SegmentFeed
from app.destinations.models import DestinationIn, DestinationPatch, SyncIn, SyncPatch
from app.destinations.queue import enqueue_run
from app.destinations.runs import RETRY_TRIGGER, RunStore
from app.destinations.secrets import SecretBox
from app.destinations.store import DestinationStore
from app.errors import NotFound

router = APIRouter(tags=["destinations"], dependencies=[Depends(require_admin)])


def _stores(svc: Services) -> tuple[DestinationStore, RunStore]:
    db = svc.settings.neo4j_database
    return (
        DestinationStore(svc.driver, db, SecretBox(svc.settings.destination_secret_key)),
        RunStore(svc.driver, db),
    )


# --- destinations ---
@router.post(
    "/v1/destinations", status_code=201, summary="Configure a destination (secrets are stored encrypted)"
)
async def create_destination(body: DestinationIn, request: Request) -> dict:
    store, _ = _stores(services(request))
    return await run_in_threadpool(store.create_destination, body)


@router.get("/v1/destinations", summary="Destinations, secrets masked")
async def list_destinations(request: Request, limit: int = Query(default=100, ge=1, le=1000)) -> dict:
    store, _ = _stores(services(request))
    return {"destinations": await run_in_threadpool(store.list_destinations, limit)}


@router.get("/v1/destinations/{dest_id}", summary="One destination, secrets masked")
async def get_destination(dest_id: str, request: Request) -> dict:
    store, _ = _stores(services(request))
    return store.public(await run_in_threadpool(store.destination, dest_id))


@router.patch(
    "/v1/destinations/{dest_id}", summary="Change name, config, secrets (those named) or rate limit"
)
async def update_destination(dest_id: str, body: DestinationPatch, request: Request) -> dict:
    store, _ = _stores(services(request))
    return await run_in_threadpool(store.update_destination, dest_id, body)


@router.delete("/v1/destinations/{dest_id}", status_code=204, summary="Delete a destination no sync uses")
async def delete_destination(dest_id: str, request: Request) -> Response:
    store, _ = _stores(services(request))
    await run_in_threadpool(store.delete_destination, dest_id)
    return Response(status_code=204)


# --- syncs ---
@router.post("/v1/syncs", status_code=201, summary="Sync a segment to a destination on a schedule")
async def create_sync(body: SyncIn, request: Request) -> dict:
    svc = services(request)
    store, _ = _stores(svc)
    feed = SegmentFeed(svc.driver, svc.settings.neo4j_database)
    return {**await run_in_threadpool(store.create_sync, body, feed), "activeRun": None}


def _with_active_runs(runs: RunStore, syncs: list[dict]) -> list[dict]:
    """Each sync with `activeRun`: the run under way (queued, running or deferred), or null. The
    last-run fields name only finished runs, so a run deferred for an hour would not show at all."""
    active = runs.active([s["id"] for s in syncs])
    return [{**s, "activeRun": active.get(s["id"])} for s in syncs]


@router.get("/v1/syncs", summary="Syncs, each with its active run")
async def list_syncs(request: Request, limit: int = Query(default=100, ge=1, le=1000)) -> dict:
    store, runs = _stores(services(request))
    syncs = await run_in_threadpool(store.list_syncs, limit)
    return {"syncs": await run_in_threadpool(_with_active_runs, runs, syncs)}


@router.get("/v1/syncs/{sync_id}", summary="One sync, with its cursor, last finished run and active run")
async def get_sync(sync_id: str, request: Request) -> dict:
    store, runs = _stores(services(request))
    sync = await run_in_threadpool(store.sync, sync_id)
    return (await run_in_threadpool(_with_active_runs, runs, [sync]))[0]


@router.patch("/v1/syncs/{sync_id}", summary="Change schedule, mapping, options or enabled")
async def update_sync(sync_id: str, body: SyncPatch, request: Request) -> dict:
    store, runs = _stores(services(request))
    sync = await run_in_threadpool(store.update_sync, sync_id, body)
    return (await run_in_threadpool(_with_active_runs, runs, [sync]))[0]


@router.delete("/v1/syncs/{sync_id}", status_code=204, summary="Delete a sync with its runs and dead letters")
async def delete_sync(sync_id: str, request: Request) -> Response:
    store, _ = _stores(services(request))
    await run_in_threadpool(store.delete_sync, sync_id)
    return Response(status_code=204)


@router.post("/v1/syncs/{sync_id}/run", status_code=202, summary="Run a sync now (409 while a run is active)")
async def run_sync(sync_id: str, request: Request) -> dict:
    svc = services(request)
    store, runs = _stores(svc)

    def start() -> dict:
        run = runs.create(store.sync(sync_id), "manual")
        enqueue_run(svc.settings.redis_url, run["id"])
        return run

    return {"run": await run_in_threadpool(start)}


@router.get("/v1/syncs/{sync_id}/runs", summary="Runs, newest first: status, counts, errors, duration")
async def list_runs(sync_id: str, request: Request, limit: int = Query(default=50, ge=1, le=500)) -> dict:
    store, runs = _stores(services(request))

    def read() -> list[dict]:
        store.sync(sync_id)  # 404 for an unknown sync rather than an empty list
        return runs.list(sync_id, limit)

    return {"runs": await run_in_threadpool(read)}


@router.get("/v1/syncs/{sync_id}/runs/{run_id}", summary="One run")
async def get_run(sync_id: str, run_id: str, request: Request) -> dict:
    _, runs = _stores(services(request))
    run = await run_in_threadpool(runs.get, run_id)
    if run is None or run["syncId"] != sync_id:
        raise NotFound("runId", f"no run {run_id!r} for sync {sync_id!r}")
    return run


@router.get("/v1/syncs/{sync_id}/dead-letters", summary="Items a destination refused, newest first")
async def list_dead_letters(
    sync_id: str,
    request: Request,
    limit: int = Query(default=100, ge=1, le=1000),
    before: int | None = Query(default=None, ge=0, le=INT64_MAX, description="epoch ms: older than"),
) -> dict:
    store, runs = _stores(services(request))

    def read() -> list[dict]:
        store.sync(sync_id)
        return runs.dead_letters(sync_id, limit, before)

    return {"deadLetters": await run_in_threadpool(read)}


@router.post("/v1/syncs/{sync_id}/dead-letters/retry", status_code=202,
             summary="Send the sync's dead letters again, as the profiles are now (409 while a run is active)")
async def retry_dead_letters(sync_id: str, request: Request) -> dict:
    svc = services(request)
    store, runs = _stores(svc)

    def start() -> dict:
        run = runs.create(store.sync(sync_id), RETRY_TRIGGER)
        enqueue_run(svc.settings.redis_url, run["id"])
        return run

    return {"run": await run_in_threadpool(start)}


@router.delete("/v1/syncs/{sync_id}/dead-letters/{dl_id}", status_code=204, summary="Discard a dead letter")
async def delete_dead_letter(sync_id: str, dl_id: str, request: Request) -> Response:
    _, runs = _stores(services(request))
    await run_in_threadpool(runs.delete_dead_letter, sync_id, dl_id)
    return Response(status_code=204)
