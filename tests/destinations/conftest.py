"""Fixtures for destination sync: vendor fakes on loopback, settings pointing the SDKs at them, real
segments (app.segments) over profiles ingested through the real store, a clean Redis."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import redis

from app.destinations.engine import SyncEngine
from app.destinations.models import DestinationIn, SyncIn
from app.segments import service
from app.segments.upkeep import upkeep as segment_upkeep
from tests.destinations.fakes.facebook import FacebookFake
from tests.destinations.fakes.hubspot import HubSpotFake
from tests.destinations.fakes.resend import ResendFake
from tests.destinations.fakes.webhook import WebhookReceiver
from tests.identity.factory import ingest, msg, store_for

_people = itertools.count()
ROOT_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture
def resend_fake():
    fake = ResendFake().start()
    yield fake
    fake.stop()


@pytest.fixture
def hubspot_fake():
    fake = HubSpotFake().start()
    yield fake
    fake.stop()


@pytest.fixture
def facebook_fake():
    fake = FacebookFake().start()
    yield fake
    fake.stop()


@pytest.fixture
def webhook_fake():
    fake = WebhookReceiver().start()
    yield fake
    fake.stop()


@pytest.fixture
def redis_client(settings):
    client = redis.Redis.from_url(settings.redis_url)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def sync_settings(settings, resend_fake, hubspot_fake, facebook_fake):
    """Small pages and fast backoff so failure paths run in milliseconds; vendors on loopback."""
    return settings.model_copy(
        update={
            "resend_api_url": resend_fake.url,
            "hubspot_api_url": hubspot_fake.url,
            "facebook_graph_url": facebook_fake.url,
            "sync_batch_size": 20,
            "sync_default_rate_per_second": 5000.0,
            "sync_backoff_base_seconds": 0.01,
            "sync_backoff_max_seconds": 0.05,
            "sync_max_inline_wait_seconds": 1.0,
            "sync_lock_ttl_seconds": 10.0,
            "sync_max_deferrals": 3,
        }
    )


@pytest.fixture
def engine(clean_db, sync_settings, redis_client):
    return SyncEngine(sync_settings, clean_db, redis_client)


def people(store, settings, count: int, plan: str = "pro", **traits) -> dict[str, str]:
    """Ingest `count` identified people with an email, a name and a plan; email -> profile id."""
    msgs, emails = [], []
    for _ in range(count):
        n = next(_people)
        email = f"person{n}@example.org"
        emails.append(email)
        msgs.append(
            msg(
                "identify",
                userId=f"user-{n}",
                traits={
                    "email": email,
                    "plan": plan,
                    "firstName": f"First{n}",
                    "lastName": f"Last{n}",
                    "phone": f"+1 415 555 {1000 + n % 9000:04d}",
                    **traits,
                },
            )
        )
    ingest(store, settings, msgs)
    rows, _, _ = store.driver.execute_query(
        "UNWIND $emails AS e MATCH (:Identifier {key: 'email:' + e})-[:BELONGS_TO]->(p:Profile) "
        "RETURN e AS email, p.id AS id",
        emails=emails,
    )
    return {r["email"]: r["id"] for r in rows}


def set_plan(store, settings, emails: list[str], plan: str, **traits) -> None:
    ingest(
        store,
        settings,
        [
            msg("identify", anonymousId=f"anon-{e}", traits={"email": e, "plan": plan, **traits})
            for e in emails
        ],
    )


def segment(driver, settings, text: str = "traits.plan = 'pro'") -> str:
    tree = service.definition(driver, settings.neo4j_database, text=text)
    return service.create_segment(driver, settings.neo4j_database, "test segment", None, tree)["id"]


def upkeep(driver, settings, profile_ids) -> dict:
    """Segment membership upkeep for these profiles, as the segments worker does after ingest."""
    return segment_upkeep(driver, settings.neo4j_database, sorted(set(profile_ids)))


def destination(engine, type_: str, config: dict, secrets: dict, rate: float | None = None) -> dict:
    body = DestinationIn(
        name=f"{type_} test",
        type=type_,
        config=config,
        secrets=secrets,
        rate_limit={"perSecond": rate} if rate else None,
    )
    return engine.store.create_destination(body)


def sync(engine, segment_id: str, dest_id: str, **fields) -> dict:
    return engine.store.create_sync(
        SyncIn(segment_id=segment_id, destination_id=dest_id, **fields), engine.feed
    )


def run_now(engine, sync_row: dict, trigger: str = "manual") -> dict:
    """Create a run and execute it in this process (the worker tests go through Celery)."""
    run = engine.runs.create(engine.store.sync(sync_row["id"]), trigger)
    result = engine.execute(run["id"])
    assert result.outcome == "done", result
    return engine.runs.get(run["id"])


@pytest.fixture
def store(clean_db, settings):
    return store_for(clean_db, settings)
