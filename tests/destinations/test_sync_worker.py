"""Real Celery workers on the real Redis broker: a manual run end to end, a worker killed mid-run
whose successor resumes from the run's cursor, a failing destination that does not stall another,
and scheduled runs started by the dispatcher."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from celery.contrib.testing.worker import start_worker

from app.destinations.queue import enqueue_run
from app.destinations.ratelimit import SyncLock
from app.settings import get_settings
from tests.destinations.conftest import ROOT_DIR, destination, people, segment, sync
from tests.helpers import wait_for

KEY = "re_test_key_123456"


def _env(sync_settings, **extra) -> dict[str, str]:
    env = {
        "CDP_NEO4J_URI": sync_settings.neo4j_uri,
        "CDP_NEO4J_PASSWORD": sync_settings.neo4j_password,
        "CDP_REDIS_URL": sync_settings.redis_url,
        "CDP_RESEND_API_URL": sync_settings.resend_api_url,
        "CDP_SYNC_BATCH_SIZE": "10",
        "CDP_SYNC_LOCK_TTL_SECONDS": "2",
        "CDP_SYNC_MAX_INLINE_WAIT_SECONDS": "1",
        "CDP_SYNC_BACKOFF_BASE_SECONDS": "0.01",
        "CDP_SYNC_BACKOFF_MAX_SECONDS": "0.05",
        "CDP_SYNC_DEFAULT_RATE_PER_SECOND": "5000",
        "CDP_LOG_LEVEL": "WARNING",
    }
    return {**env, **{k: str(v) for k, v in extra.items()}}


@pytest.fixture
def worker_env(sync_settings, monkeypatch):
    env = _env(sync_settings)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    yield env
    get_settings.cache_clear()


@pytest.fixture
def celery_worker(worker_env):
    from workers.celery_app import make_celery

    celery = make_celery()
    with start_worker(celery, perform_ping_check=False, pool="solo", shutdown_timeout=10):
        yield celery


def _status(engine, run_id: str, *statuses: str):
    run = engine.runs.get(run_id)
    return run if run and run["status"] in statuses else None


def test_manual_run_through_a_real_worker(engine, store, settings, resend_fake, celery_worker):
    pros = people(store, settings, 15)
    s = sync(
        engine,
        segment(engine.feed.driver, settings),
        destination(engine, "resend", {"audienceId": "aud_1"}, {"apiKey": KEY})["id"],
    )
    run = engine.runs.create(engine.store.sync(s["id"]), "manual")
    enqueue_run(settings.redis_url, run["id"])
    done = wait_for(lambda: _status(engine, run["id"], "succeeded", "partial", "failed"), what="the run")
    assert (done["status"], done["added"]) == ("succeeded", 15) and done["durationMs"] >= 0
    assert set(resend_fake.contacts()) == set(pros)


def test_killed_worker_is_resumed_from_the_run_cursor_without_resending(
    engine, store, settings, resend_fake, worker_env
):
    pros = people(store, settings, 60)
    s = sync(
        engine,
        segment(engine.feed.driver, settings),
        destination(engine, "resend", {"audienceId": "aud_1"}, {"apiKey": KEY})["id"],
    )
    resend_fake.delay = 0.03  # a slow vendor, so the run is still going when the worker dies
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "workers.celery_app",
            "worker",
            "-P",
            "solo",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            "-l",
            "warning",
        ],
        cwd=ROOT_DIR,
        env={**os.environ, **worker_env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        run = engine.runs.create(engine.store.sync(s["id"]), "manual")
        enqueue_run(settings.redis_url, run["id"])
        wait_for(lambda: (engine.runs.get(run["id"]) or {}).get("added", 0) >= 20, what="two committed pages")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    at_kill = engine.runs.get(run["id"])
    assert at_kill["status"] == "running" and at_kill["added"] < 60
    creates_before = resend_fake.count("POST")
    resend_fake.delay = 0.0

    lock = SyncLock(engine.redis, s["id"], 2)
    wait_for(lambda: not lock.held(), timeout=10, what="the dead worker's lock to expire")
    from workers.celery_app import make_celery
    from workers.sync import dispatch

    celery = make_celery()
    with start_worker(celery, perform_ping_check=False, pool="solo", shutdown_timeout=10):
        resumed = wait_for(lambda: dispatch()["resumed"] or None, timeout=10, what="the stall check")
        assert resumed == [run["id"]]
        done = wait_for(
            lambda: _status(engine, run["id"], "succeeded", "partial", "failed"), what="the resumed run"
        )
    assert done["status"] == "succeeded" and done["attempts"] == 2 and done["added"] == 60
    assert set(resend_fake.contacts()) == set(pros)
    # Pages committed before the crash were not sent again: the successor re-sent at most the page in
    # flight (10 contacts) and went on from the cursor.
    resent = resend_fake.count("POST") - 60
    assert 0 <= resent <= 10, (resent, creates_before, at_kill["added"])


def test_a_failing_destination_does_not_stall_another(
    engine, store, settings, resend_fake, webhook_fake, celery_worker
):
    people(store, settings, 5)
    seg = segment(engine.feed.driver, settings)
    bad = sync(
        engine,
        seg,
        destination(engine, "webhook", {"url": webhook_fake.url}, {"signingSecret": webhook_fake.secret})[
            "id"
        ],
    )
    good = sync(engine, seg, destination(engine, "resend", {"audienceId": "aud_1"}, {"apiKey": KEY})["id"])
    webhook_fake.fail_next(1000, 429, retry_after=60)
    bad_run = engine.runs.create(engine.store.sync(bad["id"]), "manual")
    good_run = engine.runs.create(engine.store.sync(good["id"]), "manual")
    enqueue_run(settings.redis_url, bad_run["id"])  # first in the queue, on a one-slot worker
    enqueue_run(settings.redis_url, good_run["id"])
    done = wait_for(lambda: _status(engine, good_run["id"], "succeeded"), timeout=20, what="the healthy sync")
    assert done["added"] == 5
    deferred = engine.runs.get(bad_run["id"])
    assert deferred["status"] == "deferred" and deferred["resumeAt"] > time.time() * 1000 + 30_000
    assert "429" in deferred["errors"][-1]
    assert webhook_fake.count("POST") == 1  # Retry-After honoured: no hammering while paused


def test_dispatcher_starts_due_scheduled_syncs(engine, store, settings, resend_fake, celery_worker):
    people(store, settings, 3)
    s = sync(
        engine,
        segment(engine.feed.driver, settings),
        destination(engine, "resend", {"audienceId": "aud_1"}, {"apiKey": KEY})["id"],
        schedule={"intervalSeconds": 600},
    )
    from workers.sync import dispatch

    assert dispatch(now=s["nextRunAt"] - 1)["started"] == []
    started = dispatch(now=s["nextRunAt"])["started"]
    assert len(started) == 1
    done = wait_for(lambda: _status(engine, started[0], "succeeded"), what="the scheduled run")
    assert done["trigger"] == "schedule" and done["added"] == 3
    assert engine.store.sync(s["id"])["nextRunAt"] == s["nextRunAt"] + 600_000
