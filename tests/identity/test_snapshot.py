"""The store reads and locks everything the planner needs in one statement, and only when the
batch holds no retried and no erased message; otherwise it drops those and asks again."""
import re
from pathlib import Path

import pytest
from neo4j.exceptions import ConstraintError, Neo4jError, ServiceUnavailable, TransientError

from app.auth import Keyring
from app.db import query
from app.identity.erasure import erase_profile
from app.identity.known_owners import DEFAULT_CAPACITY
from app.identity.store import IdentityStore, StaleSnapshot, _retry_reason
from app.ingest.service import IngestService
from tests.helpers import partition
from tests.identity.factory import ingest, msg

INGEST_CYPHER = Path(__file__).resolve().parents[2] / "cypher" / "ingest"


def _identifier_keys(driver) -> set[str]:
    records, _, _ = driver.execute_query("MATCH (i:Identifier) RETURN i.key AS key")
    return {r["key"] for r in records}


def _profile_of(driver, key: str) -> str:
    records, _, _ = driver.execute_query(
        "MATCH (:Identifier {key: $key})-[:BELONGS_TO]->(p:Profile) RETURN p.id AS id", key=key)
    return records[0]["id"]


def test_a_batch_mixing_a_retry_an_erased_person_and_new_people_stores_only_the_new(store, settings, driver):
    first = msg(anonymousId="kept-device")
    ingest(store, settings, [first, msg(userId="gone-user", traits={"email": "gone@example.org"}, type_="identify")])
    erase_profile(driver, settings.neo4j_database, settings.suppression_salt, _profile_of(driver, "user_id:gone-user"))

    result = ingest(store, settings, [
        first,  # a retry: stored already
        msg(anonymousId="new-device", userId="gone-user"),  # carries an erased identifier
        msg(anonymousId="fresh-1"),
        msg(anonymousId="fresh-2", userId="fresh-user"),
    ])

    assert (result.stored, result.duplicates, result.suppressed) == (2, 1, 1)
    assert result.duplicate_ids == [first["messageId"]]
    keys = _identifier_keys(driver)
    # Nothing of the dropped messages was merged: not the erased user id, not the device it came with.
    assert "user_id:gone-user" not in keys and "anonymous_id:new-device" not in keys
    assert frozenset({"anonymous_id:fresh-2", "user_id:fresh-user"}) in partition(driver)
    assert frozenset({"anonymous_id:fresh-1"}) in partition(driver)


def test_a_batch_of_only_retries_writes_nothing(store, settings, driver):
    batch = [msg(anonymousId="d-1"), msg(anonymousId="d-2")]
    ingest(store, settings, batch)
    result = ingest(store, settings, batch)
    assert (result.stored, result.duplicates) == (0, 2)
    assert len(partition(driver)) == 2


def test_ingest_statements_take_their_rows_in_one_map_parameter():
    # Neo4j keys its plan cache on each top-level list parameter's size bucket (0, 1, 10, 100…):
    # separate list parameters made every new mix of group sizes a re-parse and re-plan of the
    # combined write. One map parameter, `$batch`, has one type whatever the sizes.
    for path in sorted(INGEST_CYPHER.glob("*.cypher")):
        params = set(re.findall(r"\$([A-Za-z_]\w*)", path.read_text()))
        assert params <= {"batch"}, f"{path.name} takes {sorted(params - {'batch'})} outside $batch"


class _RecordingTx:
    """A real transaction that keeps the parameters of each statement it runs."""

    def __init__(self, tx):
        self.tx, self.runs = tx, []

    def run(self, statement, **params):
        self.runs.append((statement, params))
        return self.tx.run(statement, **params)


def _snapshot_params(store, settings, driver, messages) -> dict:
    prepared = IngestService(settings, Keyring(settings), store.rules).batch({"batch": messages}, "web")
    with driver.session(database=settings.neo4j_database) as session, session.begin_transaction() as tx:
        recording = _RecordingTx(tx)
        store._ingest_tx(recording, prepared)
        tx.rollback()
    # The first statement that locks: the snapshot, or the known-owners statement (new people here).
    return next(p["batch"] for q, p in recording.runs
                if q.startswith(query("ingest/snapshot")))


@pytest.mark.parametrize("known_owners", [DEFAULT_CAPACITY, 0], ids=["known-owners", "snapshot"])
def test_the_snapshot_takes_its_locks_in_one_order_whatever_the_order_of_the_messages(store, settings, driver,
                                                                                      known_owners):
    # A seek that finds no messageId or suppression hash locks that key until commit, as MERGE
    # locks each identifier: two writers sharing keys but taking them in different orders
    # deadlock. Every list the snapshot locks by is sorted, so the order of messages is moot.
    store = IdentityStore(driver, settings.neo4j_database, store.rules, known_owners=known_owners)
    batch = [msg("identify", messageId=f"order-{n}", anonymousId=f"dev-{n}", userId=f"user-{9 - n}",
                 traits={"email": f"p{n}@mail.io"}) for n in range(6)]
    forward = _snapshot_params(store, settings, driver, batch)
    backward = _snapshot_params(store, settings, driver, batch[::-1])
    keys = [r["key"] for r in forward["identifiers"]]
    assert (forward["ids"], forward["hashes"], keys) == (backward["ids"], backward["hashes"],
                                                          [r["key"] for r in backward["identifiers"]])
    assert forward["ids"] == sorted(forward["ids"]) and forward["hashes"] == sorted(forward["hashes"])
    assert keys == sorted(keys)
    assert len(forward["hashes"]) == 18 and len(forward["identifiers"]) == 18


def test_each_re_run_of_a_group_is_counted_by_its_reason():
    deadlock = Neo4jError._hydrate_neo4j(code="Neo.TransientError.Transaction.DeadlockDetected", message="cycle")
    assert isinstance(deadlock, TransientError)
    assert _retry_reason(deadlock) == "deadlock"
    assert _retry_reason(TransientError()) == "transient"
    assert _retry_reason(ConstraintError()) == "stored_concurrently"
    assert _retry_reason(StaleSnapshot("retired")) == "stale_snapshot"
    assert _retry_reason(ServiceUnavailable()) == "unavailable"
