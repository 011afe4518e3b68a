"""Destination sync tasks.

- run_sync: one run, page by page. Long waits (Retry-After, a vendor that is down, an exhausted
  rate limit) are never slept in the worker: the run is re-queued with a countdown and the worker
  takes the next task, so one failing destination cannot stall the others.
- dispatch_syncs (beat): starts scheduled syncs that are due, and re-queues active runs whose
  worker died (no heartbeat for a lock TTL and no lock held) - they resume from their cursor.
- push_trait_changes (beat): sends trait changes of current members (see traitpush.py).
- prune_history (beat): deletes finished runs and dead letters past their retention.
"""

from __future__ import annotations

import logging
import threading

import redis
from celery import shared_task

from app import db
from app.destinations.engine import SyncEngine
from app.destinations.queue import enqueue_run
from app.destinations.ratelimit import SyncLock
from app.destinations.store import now_ms
from app.destinations.traitpush import TraitPusher
from app.ingest.messages import FieldError
from app.ingest.timestamps import DAY_MS
from app.settings import get_settings

log = logging.getLogger("cdp.sync")
_local = threading.local()


def engine() -> SyncEngine:
    """One driver and Redis client per worker process (created after the fork, reused across tasks)."""
    settings = get_settings()
    cached = getattr(_local, "engine", None)
    if cached is None or cached.settings is not settings:
        driver = db.connect(settings)
        cached = SyncEngine(settings, driver, redis.Redis.from_url(settings.redis_url))
        _local.engine = cached
    return cached


@shared_task(name="workers.sync.run_sync", bind=True, acks_late=True, max_retries=None)
def run_sync(self, run_id: str) -> dict:
    result = engine().execute(run_id)
    if result.outcome == "deferred":
        # A new message with a countdown; this one is acknowledged, and the worker is free now.
        raise self.retry(countdown=max(0.05, result.delay))
    if result.outcome == "busy":
        # Another worker holds the sync (a duplicate delivery, or the previous run still going).
        # Come back once its lock could have expired; a finished run makes this a no-op.
        raise self.retry(countdown=min(30.0, get_settings().sync_lock_ttl_seconds))
    run = result.run or {}
    return {"run": run_id, "outcome": result.outcome, "status": run.get("status")}


def prune_history(now: int | None = None) -> dict[str, int]:
    """Finished runs past their retention (each sync's last run stays), and dead letters when a
    retention is set for them."""
    eng = engine()
    settings = eng.settings
    now = now if now is not None else now_ms()
    letters = settings.dead_letter_retention_days
    pruned = eng.runs.prune(now - settings.sync_run_retention_days * DAY_MS,
                            None if letters is None else now - letters * DAY_MS)
    if any(pruned.values()):
        log.info("sync history pruned", extra={"fields": pruned})
    return pruned


@shared_task(name="workers.sync.prune_history")
def prune_history_task() -> dict[str, int]:
    return prune_history()


def dispatch(now: int | None = None) -> dict:
    """Start due scheduled runs; re-queue stalled ones. Returns what it did (for logs and tests)."""
    eng = engine()
    settings = eng.settings
    now = now if now is not None else now_ms()
    started, resumed = [], []
    for sync in eng.store.due_syncs(now):
        eng.store.reschedule(sync, now)
        try:
            run = eng.runs.create(sync, "schedule")
        except FieldError:
            continue  # the previous run is still active; the next slot will catch up
        enqueue_run(settings.redis_url, run["id"])
        started.append(run["id"])
    stale_before = now - int(settings.sync_lock_ttl_seconds * 1000)
    for row in eng.runs.stalled(stale_before):
        if SyncLock(eng.redis, row["sync"], settings.sync_lock_ttl_seconds).held():
            continue  # a live worker is on it
        eng.runs.touch(row["id"])
        enqueue_run(settings.redis_url, row["id"])
        resumed.append(row["id"])
    if started or resumed:
        log.info("sync dispatch", extra={"fields": {"started": len(started), "resumed": len(resumed)}})
    return {"started": started, "resumed": resumed}


@shared_task(name="workers.sync.dispatch_syncs")
def dispatch_syncs() -> dict:
    return dispatch()


@shared_task(name="workers.sync.push_trait_changes")
def push_trait_changes() -> dict:
    return TraitPusher(engine()).push_all()
