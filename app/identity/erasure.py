"""GDPR erasure: delete a profile, its identifiers, events and evidence, and suppress the
identifiers (as salted hashes) so they are not ingested again."""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from neo4j import Driver

from app.db import query
from app.ingest.timestamps import now_ms


def suppression_hash(salt: str, key: str) -> str:
    return hmac.new(salt.encode(), key.encode(), hashlib.sha256).hexdigest()


def erase_profile(driver: Driver, database: str, salt: str, profile_id: str,
                  before_delete: Callable[[list[str], list[str], int], object] | None = None) -> dict:
    """before_delete(profile ids, identifier keys newest first, erasure time) runs once they are
    suppressed and marked retired, before anything is deleted (the API keeps what destinations need
    to remove the person, then segment upkeep records the exits)."""
    records, _, _ = driver.execute_query(query("identity/erase_collect"), profile=profile_id, database_=database)
    keys: list[str] = records[0]["keys"]
    profiles = [profile_id, *records[0]["retired"]]
    # Suppress first: from this commit on, ingest drops messages carrying these identifiers,
    # so nothing new lands while the rest is deleted.
    at = now_ms()
    driver.execute_query(query("identity/suppress"), hashes=[suppression_hash(salt, k) for k in keys],
                         at=at, database_=database)
    driver.execute_query(query("identity/erase_mark"), profiles=profiles, at=at, database_=database)
    if before_delete is not None:
        before_delete(profiles, keys, at)
    with driver.session(database=database) as session:
        summary = session.run(query("identity/erase_events"), keys=keys).consume()
        events = summary.counters.nodes_deleted
    records, _, _ = driver.execute_query(query("identity/erase_graph"), keys=keys, profiles=profiles,
                                         database_=database)
    # A batch that was already in flight when the suppression committed may have added events.
    with driver.session(database=database) as session:
        events += session.run(query("identity/erase_events"), keys=keys).consume().counters.nodes_deleted
    return {"profileId": profile_id, "identifiers": len(keys), "profiles": len(profiles), "events": events,
            "suppressed": len(keys)}
