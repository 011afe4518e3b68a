"""Segment membership upkeep: drain the queue of touched profiles (triggered by ingest), and on a
beat schedule re-evaluate time-window segments (members age out) and reconcile all segments."""
from __future__ import annotations

import logging

from celery import shared_task

from app.destinations.erasures import prune_erased
from app.ingest.timestamps import DAY_MS, now_ms
from app.segments import membership
from app.segments.queue import DRAIN_TASK, UpkeepQueue
from app.segments.upkeep import upkeep
from app.settings import get_settings
from workers.drivers import process_driver

log = logging.getLogger("cdp.segments")

DRAIN_CHUNK = 500  # profiles per upkeep round: one check query, writes only where membership changed


def run_drain() -> dict:
    settings = get_settings()
    driver = process_driver(settings)
    queue = UpkeepQueue.from_url(settings.redis_url)
    totals = {"profiles": 0, "changes": 0}

    def process(ids: list[str]) -> None:
        result = upkeep(driver, settings.neo4j_database, ids)
        totals["profiles"] += result["profiles"]
        totals["changes"] += result["changes"]

    try:
        queue.drain(process, DRAIN_CHUNK)
    finally:
        queue.client.close()
    if totals["profiles"]:
        log.info("segment upkeep", extra={"fields": totals})
    return totals


def run_refresh(everything: bool, now: int | None = None) -> dict:
    settings = get_settings()
    driver = process_driver(settings)
    report = membership.refresh(driver, settings.neo4j_database, now, everything=everything)
    if everything:
        days = settings.segment_change_retention_days
        membership.prune_changes(driver, settings.neo4j_database, days, now)
        # Erased people's sealed addresses were kept only for the exits those entries record.
        prune_erased(driver, settings.neo4j_database, (now if now is not None else now_ms()) - days * DAY_MS)
    log.info("segments re-evaluated", extra={"fields": {**report, "everything": everything}})
    return report


# Retried with backoff: the queue keeps every id until it is evaluated, so a retry loses nothing.
@shared_task(name=DRAIN_TASK, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def drain() -> dict:
    return run_drain()


@shared_task(name="workers.segments.refresh_windows")
def refresh_windows(now: int | None = None) -> dict:
    """Time-window segments in full; also drains the queue, in case a trigger was lost."""
    report = run_refresh(everything=False, now=now)
    report["drained"] = run_drain()["profiles"]
    return report


@shared_task(name="workers.segments.reconcile")
def reconcile(now: int | None = None) -> dict:
    return run_refresh(everything=True, now=now)
