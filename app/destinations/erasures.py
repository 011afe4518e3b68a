"""An erased person leaves every destination too. Erasure deletes the profile before any sync runs,
so its exit would reach a sync with nothing left to address the person by (and was skipped): the
person's identifiers are sealed (encrypted like destination secrets) under its profile ids before
anything is deleted, read back by the sync that sends the exit (or retries a refused removal), and
deleted with the feed entries (segment feed retention). Sealed whenever any sync exists: whether a
destination still has to hear of the person (a member now, an exit no run has sent yet, a removal
dead-lettered) cannot be told from the membership alone, and would race the segment worker.
The person's dead letters keep no addresses: they are blanked here, and read the seal on retry."""

from __future__ import annotations

from neo4j import Driver

from app.db import query
from app.destinations.secrets import SecretBox


def seal_erased(driver: Driver, database: str, box: SecretBox, profile_ids: list[str], keys: list[str],
                at: int) -> bool:
    """Before an erasure deletes anything. `keys`: the person's identifier keys, newest first.
    Whether anything was kept (nothing when no sync exists)."""
    driver.execute_query(query("destinations/blank_dead_letters"), ids=profile_ids, database_=database)
    records, _, _ = driver.execute_query(query("destinations/any_sync"), database_=database)
    if not records[0]["synced"]:
        return False
    identifiers: dict[str, list[str]] = {}
    for key in keys:
        id_type, _, value = key.partition(":")
        identifiers.setdefault(id_type, []).append(value)
    driver.execute_query(query("destinations/seal_erased"), ids=profile_ids,
                         sealed=box.seal({"identifiers": identifiers}), at=at, database_=database)
    return True


def erased_rows(driver: Driver, database: str, box: SecretBox, ids: list[str]) -> dict[str, dict]:
    """profile id -> a mapping row for an erased profile among `ids`: its identifiers, no traits."""
    records, _, _ = driver.execute_query(query("destinations/erased_rows"), ids=ids, database_=database,
                                         routing_="r")
    return {r["id"]: {"id": r["id"], "firstSeen": None, "lastSeen": None, "eventCount": None, "traits": {},
                      "identifiers": box.open(r["sealed"])["identifiers"], "member": False, "erased": True}
            for r in records}


def prune_erased(driver: Driver, database: str, before: int) -> None:
    driver.execute_query(query("destinations/prune_erased"), before=before, database_=database)
