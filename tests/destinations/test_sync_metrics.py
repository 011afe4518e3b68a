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


def test_the_counters_never_go_down_when_runs_are_pruned(engine, store, settings, webhook_fake):
    pros = people(store, settings, 3, plan="pro")
    seg = segment(engine.feed.driver, settings)
    s = sync(engine, seg, destination(engine, "webhook", {"url": webhook_fake.url},
                                      {"signingSecret": webhook_fake.secret})["id"])
    webhook_fake.poison.add(pros[min(pros)])
    assert run_now(engine, s)["status"] == "partial"
    webhook_fake.poison.clear()
    assert run_now(engine, s)["status"] == "succeeded"
    queued = engine.runs.create(engine.store.sync(s["id"]), "manual")
    engine.runs.finish(queued["id"], "failed", ["stopped"])
    engine.runs.finish(queued["id"], "failed", ["stopped again"])  # counted once
    outcomes = SyncOutcomes()
    outcomes.attach(engine.feed.driver, settings.neo4j_database)

    def counts() -> dict:
        families = list(outcomes.collect())
        return {**{("runs", st): _sample(families, "cdp_sync_runs_total", {"destination": "webhook", "status": st})
                   for st in ("succeeded", "partial", "failed")},
                **{("items", o): _sample(families, "cdp_sync_items_total", {"destination": "webhook", "outcome": o})
                   for o in ("added", "failed")}}

    before = counts()
    assert before == {("runs", "succeeded"): 1, ("runs", "partial"): 1, ("runs", "failed"): 1,
                      ("items", "added"): 2, ("items", "failed"): 1}
    engine.feed.driver.execute_query("MATCH (r:SyncRun) DETACH DELETE r")  # as retention would
    assert counts() == before


def test_runs_under_way_are_a_gauge(engine, store, settings, webhook_fake):
    people(store, settings, 1)
    s = sync(engine, segment(engine.feed.driver, settings),
             destination(engine, "webhook", {"url": webhook_fake.url}, {"signingSecret": webhook_fake.secret})["id"])
    engine.runs.create(engine.store.sync(s["id"]), "manual")
    outcomes = SyncOutcomes()
    outcomes.attach(engine.feed.driver, settings.neo4j_database)
    families = list(outcomes.collect())
    assert _sample(families, "cdp_sync_runs_active", {"destination": "webhook", "status": "queued"}) == 1


def test_metrics_endpoint_serves_sync_outcomes(client):
    body = client.get("/metrics").text
    assert "# TYPE cdp_sync_runs_total counter" in body and "# TYPE cdp_sync_items_total counter" in body
    assert "# TYPE cdp_sync_runs_active gauge" in body
