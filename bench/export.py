"""Export benchmark: how fast `cdp export` takes events and profiles out of a loaded graph.

    .venv/bin/python -m bench.export [--events 300000] [--big 30000] [--reload]

The graph is the profile benchmark's (bench/profiles.py), smaller: small profiles of 10 events
on four sources, one big profile, late logins that merge; loaded through the real write path,
reused by a rerun when its event count matches. Each export runs as `cdp export` does (the same
pages, each line serialised and written to a file), twice; the faster run is reported with the
page read times of both, so a cold page cache on the first does not decide the figure.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import orjson

from app import db, export
from app.auth import Keyring
from app.identity.rules import IdentityRules
from app.identity.store import IdentityStore
from app.ingest.service import IngestService
from bench.common import (
    bench_settings,
    fresh_graph,
    neo4j_cpu_seconds,
    neo4j_pid,
    percentile,
    start_neo4j,
    write_results,
)
from bench.profiles import event_count, load

INSTANCE, PORT, HTTP_PORT = "bench-export", 7707, 7494
RUNS = 2


def timed_export(read_page, q, items: str, neo4j: int | None) -> dict:
    """One export to a temporary file, as `cdp export` writes it: lines, bytes, seconds, the page
    read times, and Neo4j's CPU."""
    page_ms: list[float] = []
    lines = size = 0
    cpu0, started = neo4j_cpu_seconds(neo4j), time.perf_counter()
    with tempfile.TemporaryFile() as f:
        pages = export.all_pages(read_page, q, items)
        while True:
            t0 = time.perf_counter()
            page = next(pages, None)
            if page is None:
                break
            page_ms.append((time.perf_counter() - t0) * 1000)
            chunk = b"".join(orjson.dumps(item) + b"\n" for item in page)
            f.write(chunk)
            lines += len(page)
            size += len(chunk)
    seconds = time.perf_counter() - started
    return {"lines": lines, "megabytes": round(size / 1e6, 1), "seconds": round(seconds, 2),
            "per_second": round(lines / seconds), "pages": len(page_ms), "page_ms": page_ms,
            "neo4j_cpu_us_per_line": (round((neo4j_cpu_seconds(neo4j) - cpu0) * 1e6 / lines)
                                      if lines and neo4j else None)}


def best_of(runs: list[dict]) -> dict:
    best = min(runs, key=lambda r: r["seconds"])
    pages = [ms for r in runs for ms in r["page_ms"]]
    return {**{k: v for k, v in best.items() if k != "page_ms"}, "runs_seconds": [r["seconds"] for r in runs],
            "page_p50_ms": round(percentile(pages, 50), 1), "page_p99_ms": round(percentile(pages, 99), 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=300_000)
    ap.add_argument("--big", type=int, default=30_000, help="events of the one big profile")
    ap.add_argument("--reload", action="store_true", help="wipe and load again even if the store is there")
    args = ap.parse_args()
    logging.getLogger("neo4j.notifications").setLevel(logging.ERROR)  # "no such property yet" and the like

    start_neo4j(INSTANCE, PORT, HTTP_PORT)
    settings = bench_settings(PORT)
    database = settings.neo4j_database
    rules = IdentityRules(settings)
    driver = db.connect(settings)
    db.apply_schema(driver, database)
    if args.reload or event_count(driver) != args.events:
        driver.close()
        driver = fresh_graph(settings)
        print(f"1/3 loading {args.events:,} events ({args.big:,} on one profile)")
        store = IdentityStore(driver, database, rules)
        seconds = load(store, IngestService(settings, Keyring(settings), rules), args.events, args.big)
        print(f"  loaded in {seconds:.0f}s ({args.events / seconds:,.0f} events/s)")
    else:
        print(f"1/3 reusing the loaded store ({args.events:,} events)")
    neo4j = neo4j_pid(INSTANCE)

    events_q = export.event_export(limit=export.EVENTS_MAX_LIMIT)  # cdp export's page size
    profiles_q = export.profile_export(limit=export.PROFILES_DEFAULT_LIMIT)
    total_events = export.count_events(driver, database, events_q)
    total_profiles = export.count_profiles(driver, database, profiles_q)
    print(f"2/3 exporting {total_events:,} events, {RUNS} runs, pages of {events_q.limit:,}")
    event_runs = [timed_export(lambda q: export.events_page(driver, database, q), events_q, "events", neo4j)
                  for _ in range(RUNS)]
    events = best_of(event_runs)
    print(f"  {events['lines']:,} events, {events['megabytes']} MB in {events['seconds']} s: "
          f"{events['per_second']:,} events/s (runs {events['runs_seconds']} s); a page of {events_q.limit:,} "
          f"p50 {events['page_p50_ms']} ms, p99 {events['page_p99_ms']} ms; "
          f"Neo4j {events['neo4j_cpu_us_per_line']} µs CPU per event")
    print(f"3/3 exporting {total_profiles:,} live profiles, {RUNS} runs, pages of {profiles_q.limit}")
    profile_runs = [timed_export(lambda q: export.profiles_page(driver, database, q), profiles_q, "profiles",
                                 neo4j) for _ in range(RUNS)]
    profiles = best_of(profile_runs)
    print(f"  {profiles['lines']:,} profiles, {profiles['megabytes']} MB in {profiles['seconds']} s: "
          f"{profiles['per_second']:,} profiles/s (runs {profiles['runs_seconds']} s); a page of "
          f"{profiles_q.limit} p50 {profiles['page_p50_ms']} ms, p99 {profiles['page_p99_ms']} ms (one holds the "
          f"{args.big:,}-event profile); Neo4j {profiles['neo4j_cpu_us_per_line']} µs CPU per profile")
    driver.close()
    write_results("export", {"events_in_graph": total_events, "live_profiles": total_profiles,
                             "big_profile_events": args.big, "events": events, "profiles": profiles})
    print(f"the graph stays in instance {INSTANCE!r} for a rerun; stop it with NEO4J_INSTANCE={INSTANCE} "
          f"NEO4J_BOLT_PORT={PORT} NEO4J_HTTP_PORT={HTTP_PORT} scripts/neo4j.sh stop")


if __name__ == "__main__":
    main()
