"""Sync outcomes reach /metrics, read from the run records the workers leave in the graph."""
from app.metrics import SyncOutcomes
from tests.destinations.conftest import destination, people, run_now, segment, sync


def _sample(families, name: str, labels: dict) -> float | None:
    for family in families:
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return None


def test_sync_outcomes_are_counted_per_destination_and_status(engine, store, settings, resend_fake):
    people(store, settings, 7, plan="pro")
    seg = segment(engine.feed.driver, settings)
    dest = destination(engine, "resend", {"audienceId": "aud_1"}, {"apiKey": "re_test_key_123456"})
    run = run_now(engine, sync(engine, seg, dest["id"]))
    assert run["status"] == "succeeded"
    outcomes = SyncOutcomes()
    outcomes.attach(engine.feed.driver, settings.neo4j_database)
    families = list(outcomes.collect())
    assert _sample(families, "cdp_sync_runs_total", {"destination": "resend", "status": "succeeded"}) == 1
    assert _sample(families, "cdp_sync_items_total", {"destination": "resend", "outcome": "added"}) == 7
    assert _sample(families, "cdp_sync_items_total", {"destination": "resend", "outcome": "failed"}) == 0


def test_metrics_endpoint_serves_sync_outcomes(client):
    body = client.get("/metrics").text
    assert "# TYPE cdp_sync_runs_total counter" in body and "# TYPE cdp_sync_items_total counter" in body
