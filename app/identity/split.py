"""Unmerge: move chosen identifiers (and so their events) off a profile onto a new one.

The split is recorded ((:Profile)-[:SPLIT_FROM]->(:Profile)) and leaves SPLIT_APART blocks
between the two sides: evidence from up to the split's time cannot re-merge them (so replays
and late batches do not undo it); a message dated after the split is new evidence and may.
"""
from __future__ import annotations

from collections import Counter

from neo4j import Driver, ManagedTransaction

from app.db import query
from app.identity.planner import new_profile_id
from app.identity.profile_state import rederive
from app.identity.rules import IDENTIFIER_TYPES
from app.ingest.messages import FieldError, MessageErrors
from app.ingest.timestamps import now_ms


def _counts(types: list[str]) -> dict[str, int]:
    c = Counter(types)
    return {f"n_{t}": c[t] for t in IDENTIFIER_TYPES}


def split_profile(driver: Driver, database: str, profile_id: str, keys: list[str], reason: str) -> dict:
    """keys: normalised identifier keys on the profile. Returns the new profile's id and the move."""
    if not keys:
        raise FieldError("identifiers", "name at least one identifier to move")
    at = now_ms()
    new_id = new_profile_id()

    def work(tx: ManagedTransaction) -> dict:
        on_profile = {r["key"]: r["type"] for r in tx.run(query("identity/split_lock"), profile=profile_id)}
        missing = [FieldError(f"identifiers[{n}]", f"{k!r} is not on profile {profile_id}")
                   for n, k in enumerate(keys) if k not in on_profile]
        if missing:
            raise MessageErrors(missing)
        moved = sorted(set(keys))
        kept = sorted(set(on_profile) - set(moved))
        if not kept:
            raise FieldError("identifiers", "a split must leave at least one identifier on the profile")
        tx.run(query("identity/split_apply"), profile=profile_id, newProfile=new_id, at=at, reason=reason,
               moved=moved, kept=kept, movedCounts=_counts([on_profile[k] for k in moved]),
               keptCounts=_counts([on_profile[k] for k in kept])).consume()
        rederive(tx, profile_id)
        rederive(tx, new_id)
        return {"profileId": profile_id, "newProfileId": new_id, "moved": moved, "kept": kept, "at": at}

    with driver.session(database=database) as session:
        return session.execute_write(work)
