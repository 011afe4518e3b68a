"""A real Celery worker on the real Redis keeps membership current: ingest through the API queues
the touched profiles and triggers a drain; the beat task ages members out. The queue itself never
drops an id that was re-touched while it was being evaluated."""
import time

import pytest
from celery.contrib.testing.worker import start_worker

from app.segments.queue import DIRTY_KEY, SCHEDULED_KEY, UpkeepQueue
from app.settings import get_settings
from tests.helpers import ADMIN, basic

DAY = 86_400_000


def _poll(fn, deadline_s: float = 30):
    """Poll the worker's effect with a deadline (not a sleep that hopes the race is over)."""
    deadline = time.monotonic() + deadline_s
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


@pytest.fixture
def worker(settings, monkeypatch, redis_client):
    monkeypatch.setenv("CDP_NEO4J_URI", settings.neo4j_uri)
    monkeypatch.setenv("CDP_NEO4J_PASSWORD", settings.neo4j_password)
    monkeypatch.setenv("CDP_REDIS_URL", settings.redis_url)
    get_settings.cache_clear()
    from workers.celery_app import make_celery

    celery = make_celery()
    try:
        with start_worker(celery, perform_ping_check=False, pool="solo", shutdown_timeout=10):
            yield celery
    finally:
        get_settings.cache_clear()


def _members(client, segment_id: str) -> list[str]:
    return [m["profileId"] for m in client.get(f"/v1/segments/{segment_id}/members", headers=ADMIN).json()["members"]]


def test_ingest_through_the_api_reaches_membership_via_the_worker(client, worker, redis_client):
    seg = client.post("/v1/segments", json={"name": "pro", "text": "traits.plan = 'pro'"}, headers=ADMIN).json()
    assert seg["memberCount"] == 0
    r = client.post("/v1/identify", json={"userId": "wk1", "traits": {"plan": "pro"}}, headers=basic())
    assert r.status_code == 200, r.text
    assert _poll(lambda: _members(client, seg["id"])), "the worker did not bring the profile in"
    r = client.post("/v1/identify", json={"userId": "wk1", "traits": {"plan": "free"}}, headers=basic())
    assert _poll(lambda: not _members(client, seg["id"]))
    feed = client.get(f"/v1/segments/{seg['id']}/changes", headers=ADMIN).json()["changes"]
    assert [c["kind"] for c in feed] == ["enter", "exit"]
    assert _poll(lambda: redis_client.zcard(DIRTY_KEY) == 0 and not redis_client.exists(SCHEDULED_KEY))


def test_the_beat_task_ages_members_out(client, worker):
    now = int(time.time() * 1000)
    r = client.post("/v1/track", json={"userId": "wk2", "event": "Login"}, headers=basic())
    assert r.status_code == 200
    seg = client.post("/v1/segments", json={"name": "recent", "text": "performed('Login') WITHIN 7 DAYS"},
                      headers=ADMIN).json()
    assert seg["memberCount"] == 1 and seg["timeDependent"] is True
    result = worker.send_task("workers.segments.refresh_windows", kwargs={"now": now + 8 * DAY})
    assert _poll(lambda: not _members(client, seg["id"])), "the refresh did not age the member out"
    assert result.id


def test_an_id_touched_during_its_evaluation_stays_queued(redis_client):
    queue = UpkeepQueue(redis_client)
    assert queue.mark(["p1", "p2"]) is True  # schedules a drain (no trigger wired here)
    assert queue.mark(["p3"]) is False  # one already scheduled
    rounds: list[list[str]] = []

    def process(ids):
        rounds.append(ids)
        if len(rounds) == 1:
            queue.mark(["p2"])  # re-touched while being evaluated

    assert queue.drain(process) == 4
    assert rounds == [["p1", "p2", "p3"], ["p2"]]
    assert queue.pending() == 0 and not redis_client.exists(SCHEDULED_KEY)


def test_a_failed_evaluation_loses_nothing(redis_client):
    queue = UpkeepQueue(redis_client)
    queue.mark(["q1", "q2"])

    def broken(ids):
        raise RuntimeError("neo4j is down")

    with pytest.raises(RuntimeError):
        queue.drain(broken)
    assert queue.pending() == 2
    seen = []
    queue.drain(seen.extend)
    assert sorted(seen) == ["q1", "q2"] and queue.pending() == 0
