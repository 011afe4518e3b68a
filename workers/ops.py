"""Operational tasks: the identity invariant check, on a beat schedule."""
from __future__ import annotations

import json
import logging

import redis
from celery import shared_task

from app import db
from app.ingest.timestamps import now_ms
from app.settings import get_settings

log = logging.getLogger("cdp.ops")

INVARIANTS_KEY = "cdp:ops:identity-invariants"


def run_invariant_check() -> dict:
    """Counts of identity-invariant violations (all 0 in a healthy graph), kept in Redis for /readyz
    and operators, and logged."""
    settings = get_settings()
    driver = db.connect(settings)
    try:
        records, _, _ = driver.execute_query(db.query("ops/invariants"), database_=settings.neo4j_database)
    finally:
        driver.close()
    report = {"checkedAt": now_ms(), "violations": dict(records[0])}
    report["ok"] = not any(report["violations"].values())
    client = redis.Redis.from_url(settings.redis_url)
    client.set(INVARIANTS_KEY, json.dumps(report))
    client.close()
    (log.info if report["ok"] else log.error)("identity invariants checked", extra={"fields": report})
    return report


@shared_task(name="workers.ops.check_identity_invariants")
def check_identity_invariants() -> dict:
    return run_invariant_check()
