"""Celery app: Redis broker, beat schedule. Tasks are idempotent and acknowledged late, so a
crashed worker's task runs again rather than being lost."""
from __future__ import annotations

from celery import Celery

from app.settings import get_settings


def make_celery() -> Celery:
    settings = get_settings()
    celery = Celery("cdp", broker=settings.redis_url, include=["workers.ops"])
    celery.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        timezone="UTC",
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        beat_schedule={
            "identity-invariants": {"task": "workers.ops.check_identity_invariants",
                                    "schedule": settings.invariant_check_seconds},
        },
    )
    return celery


app = make_celery()
