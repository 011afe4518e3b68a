"""Sending sync tasks to the Celery broker from anywhere (API process or worker)."""

from __future__ import annotations

from functools import lru_cache

from celery import Celery

RUN_TASK = "workers.sync.run_sync"


@lru_cache(maxsize=8)
def _producer(broker_url: str) -> Celery:
    # A bare client app: the API only publishes; it must not import the worker's task modules.
    return Celery("cdp-producer", broker=broker_url, set_as_current=False)


def enqueue_run(broker_url: str, run_id: str, countdown: float | None = None) -> None:
    _producer(broker_url).send_task(RUN_TASK, args=[run_id], countdown=countdown)
