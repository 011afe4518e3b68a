"""What the service does once at start-up, beyond wiring its parts together."""
import gc

from fastapi.testclient import TestClient

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
    # a plan made a grown graph's ingest many times slower until Neo4j replanned it.
    with clean_db.session() as session:
        value = session.run("SHOW SETTINGS YIELD name, value WHERE name = $name RETURN value",
                            name="dbms.cypher.min_replan_interval").single()["value"]
    assert value == "10s"
