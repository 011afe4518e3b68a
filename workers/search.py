"""Search upkeep: move newly stored identify events into the trait-search index, on a beat schedule."""
from __future__ import annotations

import logging

from celery import shared_task

from app.profiles import trait_index
from app.settings import get_settings
from workers.drivers import process_driver

log = logging.getLogger("cdp.search")


def run_index_traits() -> dict:
    settings = get_settings()
    indexed = trait_index.index_pending(process_driver(settings), settings.neo4j_database)
    if indexed:
        log.info("trait search index updated", extra={"fields": {"indexed": indexed}})
    return {"indexed": indexed}


# Beat runs it again in a few seconds; a run that fails leaves its events pending (still searched).
@shared_task(name="workers.search.index_traits")
def index_traits() -> dict:
    return run_index_traits()
