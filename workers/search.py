"""Search upkeep: move newly stored identify events into the trait-search index, on a beat schedule."""
from __future__ import annotations

import logging
import threading

from celery import shared_task
from neo4j import Driver

from app import db
from app.profiles import trait_index
from app.settings import get_settings

log = logging.getLogger("cdp.search")

_drivers: dict[str, Driver] = {}
_lock = threading.Lock()


def _driver(settings) -> Driver:
    """One driver per worker process: the task runs every few seconds."""
    with _lock:
        if settings.neo4j_uri not in _drivers:
            _drivers[settings.neo4j_uri] = db.connect(settings)
        return _drivers[settings.neo4j_uri]


def run_index_traits() -> dict:
    settings = get_settings()
    indexed = trait_index.index_pending(_driver(settings), settings.neo4j_database)
    if indexed:
        log.info("trait search index updated", extra={"fields": {"indexed": indexed}})
    return {"indexed": indexed}


# Beat runs it again in a few seconds; a run that fails leaves its events pending (still searched).
@shared_task(name="workers.search.index_traits")
def index_traits() -> dict:
    return run_index_traits()
