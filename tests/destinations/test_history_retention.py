"""Run records and dead letters are kept for a retention, then pruned by beat a chunk at a time:
finished runs only, never the run a sync's status names; dead letters by their age. The check for
a sync's active run reads an index, so a long history does not slow every run's creation."""

from __future__ import annotations

import pytest

from app.db import query
from app.settings import get_settings
from tests.destinations.conftest import destination, people, run_now, segment, sync
from tests.helpers import plan_operators

DAY_MS = 86_400_000


def _age(driver, label: str, field: str, ids: list[str], at: int) -> None:
    # Tests only: move records back in time (labels and fields are this file's own constants).
    queries = {
        ("SyncRun", "finishedAt"): "UNWIND $ids AS id MATCH (r:SyncRun {id: id}) SET r.finishedAt = $at",
        ("DeadLetter", "at"): "UNWIND $ids AS id MATCH (x:DeadLetter {id: id}) SET x.at = $at",
    }
    driver.execute_query(queries[(label, field)], ids=ids, at=at)


def _run_ids(driver, sync_id: str) -> set[str]:
    rows, _, _ = driver.execute_query("MATCH (r:SyncRun {syncId: $s}) RETURN r.id AS id", s=sync_id)
    return {r["id"] for r in rows}


@pytest.fixture
def profiles(store, settings) -> list[str]:
    return sorted(people(store, settings, 3).values())


@pytest.fixture
def webhook_sync(engine, settings, profiles, webhook_fake):
    seg = segment(engine.feed.driver, settings)
    return sync(engine, seg, destination(engine, "webhook", {"url": webhook_fake.url},
                                         {"signingSecret": webhook_fake.secret})["id"])


def test_old_finished_runs_go_but_the_last_and_the_active_stay(engine, webhook_sync):
    driver = engine.feed.driver
    old = [run_now(engine, webhook_sync)["id"] for _ in range(4)]
    last = old[-1]
    active = engine.runs.create(engine.store.sync(webhook_sync["id"]), "manual")["id"]
    now = engine.store.sync(webhook_sync["id"])["lastRunAt"]
    # The active run too (no run has both, but the status alone must keep it).
    _age(driver, "SyncRun", "finishedAt", [*old, active], now - 40 * DAY_MS)
    recent_before = now - 30 * DAY_MS

    # A chunk of 2 deletes in two passes: the three old runs that no sync names.
    assert engine.runs.prune(recent_before, recent_before, chunk=2) == {"runs": 3, "deadLetters": 0}
    assert _run_ids(driver, webhook_sync["id"]) == {last, active}
    assert engine.store.sync(webhook_sync["id"])["lastRunId"] == last
    assert engine.runs.prune(recent_before, recent_before, chunk=2) == {"runs": 0, "deadLetters": 0}


def test_runs_inside_the_retention_stay(engine, webhook_sync):
    ids = [run_now(engine, webhook_sync)["id"] for _ in range(3)]
    now = engine.store.sync(webhook_sync["id"])["lastRunAt"]
    _age(engine.feed.driver, "SyncRun", "finishedAt", ids[:1], now - 29 * DAY_MS)
    assert engine.runs.prune(now - 30 * DAY_MS, now - 30 * DAY_MS)["runs"] == 0
    assert _run_ids(engine.feed.driver, webhook_sync["id"]) == set(ids)


def test_dead_letters_past_their_retention_go(engine, webhook_sync, profiles, webhook_fake):
    webhook_fake.poison |= set(profiles[:2])
    run = run_now(engine, webhook_sync)
    assert run["failed"] == 2
    letters = engine.runs.dead_letters(webhook_sync["id"], 10, None)
    old, kept = letters[0], letters[1]
    _age(engine.feed.driver, "DeadLetter", "at", [old["id"]], run["finishedAt"] - 8 * DAY_MS)
    assert engine.runs.prune(0, run["finishedAt"] - 7 * DAY_MS) == {"runs": 0, "deadLetters": 1}
    assert [x["id"] for x in engine.runs.dead_letters(webhook_sync["id"], 10, None)] == [kept["id"]]



def test_beat_prunes_runs_and_keeps_dead_letters_unless_told(engine, webhook_sync, profiles, webhook_fake,
                                                              sync_settings, monkeypatch):
    from workers import sync as sync_tasks
    from workers.celery_app import make_celery

    webhook_fake.poison.add(profiles[0])
    ids = [run_now(engine, webhook_sync)["id"] for _ in range(3)]
    now = engine.store.sync(webhook_sync["id"])["lastRunAt"]
    _age(engine.feed.driver, "SyncRun", "finishedAt", ids[:2], now - 3 * DAY_MS)
    [letter] = engine.runs.dead_letters(webhook_sync["id"], 10, None)
    _age(engine.feed.driver, "DeadLetter", "at", [letter["id"]], now - 365 * DAY_MS)
    for key, value in {"CDP_NEO4J_URI": sync_settings.neo4j_uri, "CDP_NEO4J_PASSWORD": sync_settings.neo4j_password,
                       "CDP_REDIS_URL": sync_settings.redis_url, "CDP_SYNC_RUN_RETENTION_DAYS": "2"}.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    try:
        assert make_celery().conf.beat_schedule["sync-history-prune"]["task"] == "workers.sync.prune_history"
        # A dead letter is the only record of an item to send again: kept, however old, by default.
        assert sync_tasks.prune_history(now=now) == {"runs": 2, "deadLetters": 0}
        monkeypatch.setenv("CDP_DEAD_LETTER_RETENTION_DAYS", "300")
        get_settings.cache_clear()
        assert sync_tasks.prune_history(now=now) == {"runs": 0, "deadLetters": 1}
    finally:
        get_settings.cache_clear()
    assert _run_ids(engine.feed.driver, webhook_sync["id"]) == {ids[2]}
    assert engine.runs.dead_letters(webhook_sync["id"], 10, None) == []


def test_retention_settings_refuse_nonsense(monkeypatch):
    from pydantic import ValidationError

    from app.settings import Settings

    for name in ("CDP_SYNC_RUN_RETENTION_DAYS", "CDP_DEAD_LETTER_RETENTION_DAYS"):
        monkeypatch.setenv(name, "0")
        with pytest.raises(ValidationError, match=name.removeprefix("CDP_").lower()):
            Settings()
        monkeypatch.delenv(name)


def test_the_active_run_check_seeks_an_index(engine, webhook_sync):
    """Through the run status (few runs are active at a time), never through every run of the sync."""
    plan = engine.feed.driver.execute_query(
        "EXPLAIN " + query("destinations/create_run"), sync=webhook_sync["id"], props={"createdAt": 0}
    ).summary.plan
    ops = plan_operators(plan)
    seeks = [details for op, details in ops if op.startswith("NodeIndexSeek") and "SyncRun" in details]
    assert seeks and all("status" in d for d in seeks), ops
    assert not any(op.startswith("NodeByLabelScan") for op, _ in ops), ops


@pytest.mark.parametrize("name, index", [("prune_runs", "SyncRun(finishedAt)"), ("prune_dead_letters", "DeadLetter(at)")])
def test_pruning_seeks_the_time_index(engine, webhook_sync, name, index):
    plan = engine.feed.driver.execute_query(
        "EXPLAIN " + query(f"destinations/{name}"), before=0, limit=10, terminal=["succeeded"]
    ).summary.plan
    assert any(op.startswith("NodeIndexSeekByRange") and index in d for op, d in plan_operators(plan)), \
        plan_operators(plan)
