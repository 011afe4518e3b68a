"""A real Celery worker on the real Redis broker runs the identity invariant check."""
import json
import time

import redis
from celery.contrib.testing.worker import start_worker

from app.settings import get_settings
from tests.identity.factory import ingest, msg


def test_worker_runs_the_invariant_check_against_the_graph(store, settings, monkeypatch):
    monkeypatch.setenv("CDP_NEO4J_URI", settings.neo4j_uri)
    monkeypatch.setenv("CDP_NEO4J_PASSWORD", settings.neo4j_password)
    monkeypatch.setenv("CDP_REDIS_URL", settings.redis_url)
    get_settings.cache_clear()
    from workers.celery_app import make_celery
    from workers.ops import INVARIANTS_KEY, check_identity_invariants

    ingest(store, settings, [msg("identify", userId="w1", anonymousId="wa1")])
    client = redis.Redis.from_url(settings.redis_url)
    client.delete(INVARIANTS_KEY)
    celery = make_celery()
    try:
        with start_worker(celery, perform_ping_check=False, pool="solo", shutdown_timeout=10):
            celery.send_task(check_identity_invariants.name)
            deadline = time.monotonic() + 20
            raw = None
            while raw is None and time.monotonic() < deadline:
                raw = client.get(INVARIANTS_KEY)
                if raw is None:
                    time.sleep(0.1)  # polling the worker's result with a deadline, not waiting out a race
        assert raw is not None, "the worker did not run the task"
        report = json.loads(raw)
        assert report["ok"] is True
        assert set(report["violations"]) >= {"identifiers_without_one_profile", "events_not_on_one_identifier"}
    finally:
        client.close()
        get_settings.cache_clear()


def test_invariant_check_reports_a_broken_graph(clean_db, settings, monkeypatch):
    monkeypatch.setenv("CDP_NEO4J_URI", settings.neo4j_uri)
    monkeypatch.setenv("CDP_NEO4J_PASSWORD", settings.neo4j_password)
    monkeypatch.setenv("CDP_REDIS_URL", settings.redis_url)
    get_settings.cache_clear()
    from workers.ops import run_invariant_check

    clean_db.execute_query("CREATE (:Identifier {key: 'user_id:orphan', type: 'user_id', value: 'orphan'})")
    try:
        report = run_invariant_check()
    finally:
        get_settings.cache_clear()
    assert report["ok"] is False
    assert report["violations"]["identifiers_without_one_profile"] == 1


def test_beat_moves_identify_events_into_the_trait_index(store, settings, monkeypatch):
    monkeypatch.setenv("CDP_NEO4J_URI", settings.neo4j_uri)
    monkeypatch.setenv("CDP_NEO4J_PASSWORD", settings.neo4j_password)
    monkeypatch.setenv("CDP_REDIS_URL", settings.redis_url)
    monkeypatch.setenv("CDP_TRAIT_INDEX_SECONDS", "2.5")
    get_settings.cache_clear()
    try:
        from workers.celery_app import make_celery
        from workers.search import index_traits, run_index_traits

        entry = make_celery().conf.beat_schedule["trait-index"]
        assert (entry["task"], entry["schedule"]) == (index_traits.name, 2.5)
        ingest(store, settings, [msg("identify", userId=f"t{n}", traits={"plan": "pro"}) for n in range(3)])
        assert run_index_traits() == {"indexed": 3}
        assert run_index_traits() == {"indexed": 0}
        left = store.driver.execute_query("MATCH (e:TraitsPending) RETURN count(e) AS n").records[0]["n"]
        assert left == 0
    finally:
        get_settings.cache_clear()
