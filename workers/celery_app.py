"""Celery app: Redis broker, beat schedule. Tasks are idempotent and acknowledged late, so a
crashed worker's task runs again rather than being lost."""
from __future__ import annotations

import redis
from celery import Celery, signals
from kombu.transport import redis as kombu_redis

from app import logs
from app.settings import get_settings


class _Channel(kombu_redis.Channel):
    def _connparams(self, asynchronous=False):
        # After a broker loss the consumer releases its connection (the transport's client becomes
        # None) but still closes the old channel and acks or rejects its in-flight messages on it.
        # Fail those as a connection error, which Celery and kombu handle, instead of the
        # AttributeError that stops the worker; the unacked message stays in Redis and is restored
        # after the visibility timeout.
        if self.connection is None or self.connection.client is None:
            raise redis.ConnectionError("the broker connection was released")
        return super()._connparams(asynchronous=asynchronous)


class BrokerTransport(kombu_redis.Transport):
    Channel = _Channel


@signals.setup_logging.connect
def _json_logs(**_kwargs) -> None:
    """Worker and beat log as the API does: JSON lines, identifiers hashed, credentials redacted
    (connected, this signal also keeps Celery from installing its own plain-text handlers)."""
    logs.configure(get_settings().log_level)


def make_celery() -> Celery:
    settings = get_settings()
    celery = Celery("cdp", broker=settings.redis_url, include=["workers.ops", "workers.sync", "workers.segments", "workers.search"])
    celery.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        timezone="UTC",
        broker_connection_retry_on_startup=True,
        # Redis as usual, with channels that outlive a lost connection (see _Channel). Other schemes
        # (rediss: TLS comes from the scheme) keep the transport kombu picks.
        broker_transport="workers.celery_app:BrokerTransport" if settings.redis_url.startswith("redis://") else None,
        # Keep reconnecting while Redis is away, however long (the default gives up after 100 tries).
        broker_connection_max_retries=None,
        worker_hijack_root_logger=False,
        beat_schedule={
            "identity-invariants": {"task": "workers.ops.check_identity_invariants",
                                    "schedule": settings.invariant_check_seconds},
            # Syncs are created at run time, so beat runs one dispatcher that starts the due ones.
            "sync-dispatch": {"task": "workers.sync.dispatch_syncs", "schedule": settings.sync_dispatch_seconds},
            "sync-trait-push": {"task": "workers.sync.push_trait_changes",
                                "schedule": settings.sync_trait_push_seconds},
            "sync-history-prune": {"task": "workers.sync.prune_history",
                                   "schedule": settings.sync_history_prune_seconds},
            "segment-windows": {"task": "workers.segments.refresh_windows",
                                "schedule": settings.segment_window_seconds},
            "segment-reconcile": {"task": "workers.segments.reconcile", "schedule": settings.segment_reconcile_seconds},
            "trait-index": {"task": "workers.search.index_traits", "schedule": settings.trait_index_seconds},
        },
    )
    return celery


app = make_celery()
