"""What the service does once at start-up, beyond wiring its parts together."""
import gc
import logging

from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from app import gc_pauses
from app.gc_pauses import GcPauses
from app.main import create_app


def test_start_up_freezes_the_objects_that_live_as_long_as_the_process(clean_db, settings):
    # Frozen objects are skipped by the cyclic collector: without this, a full collection rescans
    # the modules and SDK classes and pauses every request in flight.
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    with TestClient(create_app(settings)) as client:
        assert gc.get_freeze_count() > 10_000
        assert client.get("/healthz").status_code == 200
    assert gc.get_freeze_count() == 0  # stopped: its objects are the collector's again


def test_the_provisioned_neo4j_replans_cached_queries_as_the_graph_grows(clean_db):
    # Neo4j's default: a plan may be replanned 10 s after it was made, once the statistics it was
    # made on have drifted. Plans are first made on a new, near-empty graph; held for an hour, such
    # a plan made a grown graph's ingest many times slower (clearing the query caches restored it).
    with clean_db.session() as session:
        value = session.run("SHOW SETTINGS YIELD name, value WHERE name = $name RETURN value",
                            name="dbms.cypher.min_replan_interval").single()["value"]
    assert value == "10s"


def _gc_runs(generation: str) -> float:
    return REGISTRY.get_sample_value("cdp_python_gc_pause_seconds_count", {"generation": generation}) or 0.0


def test_while_the_service_runs_each_garbage_collection_is_timed(clean_db, settings):
    # A collection stops every thread running Python, so a long one stalls every request at once.
    with TestClient(create_app(settings)) as client:
        assert sum(isinstance(cb, GcPauses) for cb in gc.callbacks) == 1
        before = _gc_runs("2")
        gc.collect()
        assert _gc_runs("2") == before + 1
        assert 'cdp_python_gc_pause_seconds_count{generation="2"}' in client.get("/metrics").text
    assert not any(isinstance(cb, GcPauses) for cb in gc.callbacks)  # stopped: no longer timed


def test_a_slow_collection_is_logged_with_what_it_collected(monkeypatch, caplog):
    monkeypatch.setattr(gc_pauses, "SLOW_SECONDS", 0.0)  # every collection counts as slow
    watcher = GcPauses()
    watcher.install()
    try:
        with caplog.at_level(logging.WARNING, logger="cdp.gc"):
            gc.collect(0)
    finally:
        watcher.uninstall()
    records = [r for r in caplog.records if r.getMessage() == "slow garbage collection"]
    assert records and records[0].fields["generation"] == 0
    assert {"ms", "collected", "uncollectable", "objects_in_generation"} <= set(records[0].fields)
    watcher.uninstall()  # a second uninstall is harmless
    assert watcher not in gc.callbacks
