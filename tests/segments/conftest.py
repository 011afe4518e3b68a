"""Segments tests: one ingested population per module that only reads it, and a clean Redis."""
from __future__ import annotations

import pytest
import redis

from app.segments.queue import COUNTER_KEY, DIRTY_KEY, SCHEDULED_KEY
from tests.conftest import wipe
from tests.identity.factory import store_for
from tests.segments import dataset


@pytest.fixture(scope="module")
def population(driver, settings):
    """The fixed population (tests using it must not write to the graph)."""
    wipe(driver)
    dataset.build(store_for(driver, settings), settings)
    return dataset.snapshots(driver)


@pytest.fixture
def redis_client(settings):
    client = redis.Redis.from_url(settings.redis_url)
    client.delete(DIRTY_KEY, COUNTER_KEY, SCHEDULED_KEY, "celery")
    yield client
    client.delete(DIRTY_KEY, COUNTER_KEY, SCHEDULED_KEY)
    client.close()
