"""bench/export.py reports an export only if its timed run exported every line the graph holds,
written as `cdp export` writes them, and picks the faster run while pooling both runs' pages."""
from __future__ import annotations

from app import export
from bench.export import best_of, timed_export
from tests.identity.factory import ingest, msg


def test_a_timed_export_reads_every_event_and_profile(store, settings, clean_db):
    ingest(store, settings, [msg("track", userId=f"u{n % 7}", timestamp=f"2026-01-01T00:00:{n:02d}Z")
                             for n in range(30)])
    db = settings.neo4j_database
    events = timed_export(lambda q: export.events_page(clean_db, db, q), export.event_export(limit=4), "events",
                          neo4j=None)
    assert (events["lines"], events["pages"]) == (30, 8) and events["megabytes"] >= 0
    profiles = timed_export(lambda q: export.profiles_page(clean_db, db, q), export.profile_export(limit=3),
                            "profiles", neo4j=None)
    assert (profiles["lines"], profiles["pages"]) == (7, 3)
    assert events["neo4j_cpu_us_per_line"] is None  # no Neo4j process to read: not a made-up figure


def test_best_of_keeps_the_faster_run_and_both_runs_pages():
    slow = {"lines": 5, "seconds": 2.0, "page_ms": [10.0, 30.0]}
    fast = {"lines": 5, "seconds": 1.0, "page_ms": [20.0]}
    best = best_of([slow, fast])
    assert best["seconds"] == 1.0 and best["runs_seconds"] == [2.0, 1.0]
    assert (best["page_p50_ms"], best["page_p99_ms"]) == (20.0, 30.0) and "page_ms" not in best
