"""The benchmark's identity floor bounds the service from below only if it really does the work it
claims (each event once per messageId on its identifier, a profile per new identifier, evidence
between a message's identifiers), and it may run beside the service's data only if its clean-up
deletes its own nodes and nothing else."""
from __future__ import annotations

import pytest

from app.auth import Keyring
from app.ingest.service import IngestService
from bench.floor import (
    IDENTITY_FLOOR_WRITE,
    RAW_EVENT_PREFIX,
    delete_floor_nodes,
    identity_floor_rows,
    identity_write_floor,
)
from tests.helpers import run_on_own_thread

FLOOR_COUNTS = """
MATCH (i:Identifier) WHERE i.key STARTS WITH $prefix
OPTIONAL MATCH (i)-[:BELONGS_TO]->(p:Profile)
OPTIONAL MATCH (i)<-[:SEEN_AS]-(e:Event)
RETURN i.key AS key, count(DISTINCT p) AS profiles, count(DISTINCT e) AS events
ORDER BY key
"""
FLOOR_EVIDENCE = """
MATCH (a:Identifier)-[s:SEEN_WITH]->(b:Identifier) WHERE a.key STARTS WITH $prefix
RETURN a.key AS a, b.key AS b, s.count AS count
"""
NODE_COUNT = "MATCH (n) RETURN count(n) AS n"


@pytest.fixture
def service(settings, rules) -> IngestService:
    return IngestService(settings, Keyring(settings), rules)


def _messages(service: IngestService) -> list:
    return service.batch({"batch": [
        {"type": "identify", "messageId": "f-1", "userId": "u-1", "anonymousId": "a-1",
         "traits": {"email": "One@Example.org"}},
        {"type": "track", "messageId": "f-2", "anonymousId": "a-1", "event": "Clicked"},
        {"type": "track", "messageId": "f-3", "anonymousId": "a-2", "event": "Clicked"},
    ]}, "web")


def test_the_identity_floor_stores_each_event_once_with_a_profile_per_identifier_and_evidence(
        store, service, clean_db):
    batch = identity_floor_rows(_messages(service))
    clean_db.execute_query(IDENTITY_FLOOR_WRITE, batch=batch)
    clean_db.execute_query(IDENTITY_FLOOR_WRITE, batch=batch)  # a retried group adds nothing

    rows = clean_db.execute_query(FLOOR_COUNTS, prefix=RAW_EVENT_PREFIX).records
    got = {r["key"].removeprefix(RAW_EVENT_PREFIX): (r["profiles"], r["events"]) for r in rows}
    # Events hang off the message's first identifier (the service's own anchor: userId first).
    assert got == {"user_id:u-1": (1, 1), "anonymous_id:a-1": (1, 1), "email:one@example.org": (1, 0),
                   "anonymous_id:a-2": (1, 1)}
    evidence = {(r["a"].removeprefix(RAW_EVENT_PREFIX), r["b"].removeprefix(RAW_EVENT_PREFIX)): r["count"]
                for r in clean_db.execute_query(FLOOR_EVIDENCE, prefix=RAW_EVENT_PREFIX).records}
    assert evidence == {("user_id:u-1", "anonymous_id:a-1"): 2, ("user_id:u-1", "email:one@example.org"): 2}


def test_deleting_the_floor_nodes_leaves_the_services_own_data(store, service, clean_db, settings):
    store.ingest(service.batch({"batch": [
        {"type": "track", "messageId": "own-1", "anonymousId": "a-1", "event": "Clicked"}]}, "web"))
    before = clean_db.execute_query(NODE_COUNT).records[0]["n"]
    clean_db.execute_query(IDENTITY_FLOOR_WRITE, batch=identity_floor_rows(_messages(service)))
    assert clean_db.execute_query(NODE_COUNT).records[0]["n"] > before

    delete_floor_nodes(clean_db, settings.neo4j_database)

    assert clean_db.execute_query(NODE_COUNT).records[0]["n"] == before
    assert store.ingest(service.batch({"batch": [
        {"type": "track", "messageId": "own-1", "anonymousId": "a-1", "event": "Clicked"}]}, "web")).duplicates == 1


def test_the_identity_latency_floor_answers_every_arrival_and_cleans_up(service, clean_db, settings):
    messages = [service.batch({"batch": [{"type": "track", "messageId": f"lat-{n}", "anonymousId": f"a-{n % 7}",
                                          "event": "Clicked"}]}, "web")[0] for n in range(40)]
    result = run_on_own_thread(lambda: identity_write_floor(clean_db, settings.neo4j_database, messages,
                                                            rate=200, writers=2, max_messages=500))
    assert 0 < result["p50_ms"] <= result["p99_ms"]
    assert clean_db.execute_query(NODE_COUNT).records[0]["n"] == 0
