"""The benchmark's identity floor bounds the service from below only if it really does the work it
claims (each event once per messageId on its identifier, one profile for the identifiers a message
brings first, evidence between a message's identifiers), and it may run beside the service's data
only if it never touches that data and its clean-up deletes its own nodes and nothing else."""
from __future__ import annotations

from app.ingest.service import IngestService
from bench.floor import (
    IDENTITY_FLOOR_WRITE,
    RAW_EVENT_PREFIX,
    delete_floor_nodes,
    identity_floor_rows,
    identity_write_floor,
)
from tests.helpers import run_on_own_thread

FLOOR_IDENTIFIERS = """
MATCH (i:Identifier) WHERE i.key STARTS WITH $prefix
OPTIONAL MATCH (i)-[:BELONGS_TO]->(p:Profile)
OPTIONAL MATCH (i)<-[:SEEN_AS]-(e:Event)
RETURN i.key AS key, collect(DISTINCT p.id) AS profiles, collect(e.messageId) AS events
"""
FLOOR_EVIDENCE = """
MATCH (a:Identifier)-[s:SEEN_WITH]->(b:Identifier) WHERE a.key STARTS WITH $prefix
RETURN a.key AS a, b.key AS b, s.firstMessageId AS messageId
"""
GRAPH_SIZE = "MATCH (n) OPTIONAL MATCH (n)-[r]->() RETURN count(DISTINCT n) AS nodes, count(r) AS relationships"
SERVICE_EVENT = "MATCH (e:Event {messageId: $id})-[:SEEN_AS]->(i:Identifier) RETURN i.key AS key"


def _messages(service: IngestService, first_id: str = "f-1") -> list:
    return service.batch({"batch": [
        {"type": "identify", "messageId": first_id, "userId": "u-1", "anonymousId": "a-1",
         "traits": {"email": "One@Example.org"}},
        {"type": "track", "messageId": "f-2", "anonymousId": "a-1", "event": "Clicked"},
        {"type": "track", "messageId": "f-3", "anonymousId": "a-2", "event": "Clicked"},
    ]}, "web")


def _size(driver) -> tuple[int, int]:
    row = driver.execute_query(GRAPH_SIZE).records[0]
    return row["nodes"], row["relationships"]


def _unprefixed(key: str) -> str:
    assert key.startswith(RAW_EVENT_PREFIX), key
    return key.removeprefix(RAW_EVENT_PREFIX)


def test_the_identity_floor_stores_each_event_once_with_one_profile_per_new_person_and_evidence(
        service, clean_db):
    batch = identity_floor_rows(_messages(service))
    clean_db.execute_query(IDENTITY_FLOOR_WRITE, batch=batch)
    size = _size(clean_db)
    clean_db.execute_query(IDENTITY_FLOOR_WRITE, batch=batch)  # a retried group adds nothing
    assert _size(clean_db) == size

    rows = {_unprefixed(r["key"]): r for r in clean_db.execute_query(FLOOR_IDENTIFIERS, prefix=RAW_EVENT_PREFIX).records}
    # Events hang off the message's first identifier (the service's own anchor: userId first).
    assert {k: sorted(map(_unprefixed, r["events"])) for k, r in rows.items()} == {
        "user_id:u-1": ["f-1"], "anonymous_id:a-1": ["f-2"], "email:one@example.org": [], "anonymous_id:a-2": ["f-3"]}
    assert all(len(r["profiles"]) == 1 for r in rows.values())
    # The identifiers f-1 brought share one profile; a-2 is somebody else.
    person = {k: r["profiles"][0] for k, r in rows.items()}
    assert person["user_id:u-1"] == person["anonymous_id:a-1"] == person["email:one@example.org"]
    assert person["anonymous_id:a-2"] != person["user_id:u-1"]
    evidence = {(_unprefixed(r["a"]), _unprefixed(r["b"])): _unprefixed(r["messageId"])
                for r in clean_db.execute_query(FLOOR_EVIDENCE, prefix=RAW_EVENT_PREFIX).records}
    assert evidence == {("user_id:u-1", "anonymous_id:a-1"): "f-1", ("user_id:u-1", "email:one@example.org"): "f-1"}


def test_the_floor_never_touches_the_services_data_and_deletes_only_its_own(store, service, clean_db, settings):
    own = service.batch({"batch": [{"type": "track", "messageId": "own-1", "anonymousId": "a-1", "event": "Clicked"}]},
                        "web")
    store.ingest(own)
    before = _size(clean_db)
    # The same messageId and the same visitor as the service's own event.
    clean_db.execute_query(IDENTITY_FLOOR_WRITE, batch=identity_floor_rows(_messages(service, first_id="own-1")))
    assert [r["key"] for r in clean_db.execute_query(SERVICE_EVENT, id="own-1").records] == ["anonymous_id:a-1"]
    assert _size(clean_db) > before

    delete_floor_nodes(clean_db, settings.neo4j_database)

    assert _size(clean_db) == before
    assert [r["key"] for r in clean_db.execute_query(SERVICE_EVENT, id="own-1").records] == ["anonymous_id:a-1"]
    assert store.ingest(own).duplicates == 1


def test_the_identity_latency_floor_answers_every_arrival_and_cleans_up(service, clean_db, settings):
    messages = [service.batch({"batch": [{"type": "track", "messageId": f"lat-{n}", "anonymousId": f"a-{n % 7}",
                                          "event": "Clicked"}]}, "web")[0] for n in range(40)]
    result = run_on_own_thread(lambda: identity_write_floor(clean_db, settings.neo4j_database, messages,
                                                            rate=200, writers=2, max_messages=500))
    assert result["messages"] == 40
    assert 0 < result["p50_ms"] <= result["p99_ms"]
    assert _size(clean_db) == (0, 0)
