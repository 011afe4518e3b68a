"""Ingest volume per source over time, top events and graph totals: the console's dashboard."""
from __future__ import annotations

from neo4j import Driver

from app.db import query
from app.ingest.timestamps import iso_ms, now_ms

HOUR_MS = 3_600_000
MAX_HOURS = 24 * 90
TOP_EVENTS = 10


def bucket_hours(hours: int) -> int:
    """Hourly buckets up to two days, then daily ones, so a chart never has more than ~90 bars."""
    return 1 if hours <= 48 else 24


def ingest_overview(driver: Driver, database: str, hours: int, until_ms: int | None = None) -> dict:
    until = until_ms if until_ms is not None else now_ms()
    step = bucket_hours(hours) * HOUR_MS
    # Whole-hour (or whole-day, UTC) buckets; the last one holds `until`.
    end = until - until % step + step
    since = end - -(-hours * HOUR_MS // step) * step
    params = {"since": since, "until": end, "bucketMs": step}
    volume, _, _ = driver.execute_query(query("stats/ingest_volume"), params, database_=database)
    top, _, _ = driver.execute_query(query("stats/top_events"), {**params, "limit": TOP_EVENTS},
                                     database_=database)
    totals, _, _ = driver.execute_query(query("stats/totals"), database_=database)
    per_source: dict[str, int] = {}
    for row in volume:
        per_source[row["source"]] = per_source.get(row["source"], 0) + row["events"]
    return {
        "since": iso_ms(since), "until": iso_ms(until), "bucketHours": step // HOUR_MS,
        "buckets": [iso_ms(b) for b in range(since, end, step)],
        "volume": [{"bucket": iso_ms(r["bucket"]), "source": r["source"], "events": r["events"]} for r in volume],
        "sources": [{"source": s, "events": n} for s, n in sorted(per_source.items(), key=lambda kv: (-kv[1], kv[0]))],
        "topEvents": [{"event": r["event"], "events": r["events"]} for r in top],
        "totals": dict(totals[0]),
    }
