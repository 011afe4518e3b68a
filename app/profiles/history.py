"""A profile's history: every profile merged into it (through chains of merges), the splits it
took part in, identifiers claimed into or off it, and the joins the rules refused around its
identifiers; each newest first."""
from __future__ import annotations

from neo4j import Driver, ManagedTransaction

from app.db import query
from app.errors import NotFound
from app.ingest.timestamps import iso_ms
from app.profiles.graph import read_merges, read_profile, read_refusals


def merge_entry(m: dict) -> dict:
    return {"profileId": m["profileId"], "into": m["into"], "at": iso_ms(m["at"]), "messageId": m["messageId"],
            "source": m["source"], "reason": m["reason"], "createdAt": iso_ms(m["createdAt"])}


def refusal_entry(r: dict) -> dict:
    return {"a": r["a"], "b": r["b"], "aProfileId": r["aProfileId"], "bProfileId": r["bProfileId"],
            "reason": r["reason"], "count": r["count"], "source": r["source"], "firstAt": iso_ms(r["firstAt"]),
            "firstMessageId": r["firstMessageId"], "lastAt": iso_ms(r["lastAt"])}


def split_entry(s: dict) -> dict:
    return {"profileId": s["profileId"], "splitFrom": s["splitFrom"], "at": iso_ms(s["at"]),
            "identifiers": s["identifiers"], "reason": s["reason"]}


def move_entry(m: dict) -> dict:
    return {"identifier": m["key"], "from": m["fromProfile"], "to": m["toProfile"], "at": iso_ms(m["at"]),
            "messageId": m["messageId"], "source": m["source"], "reason": m["reason"]}


def _read(tx: ManagedTransaction, profile_id: str) -> dict | None:
    profile = read_profile(tx, profile_id)
    if profile is None:
        return None
    splits = [r.data() for r in tx.run(query("profiles/history_splits"), id=profile_id)]
    moves = [r.data() for r in tx.run(query("profiles/history_moves"), id=profile_id)]
    return {"profileId": profile_id, "createdAt": iso_ms(profile["createdAt"]),
            "merges": [merge_entry(m) for m in read_merges(tx, profile_id)],
            "splits": [split_entry(s) for s in splits],
            "moves": [move_entry(m) for m in moves],
            "refusals": [refusal_entry(r) for r in read_refusals(tx, profile_id)]}


def profile_history(driver: Driver, database: str, profile_id: str) -> dict:
    """{profileId, createdAt, merges, splits, moves, refusals}; each list newest first."""
    with driver.session(database=database, default_access_mode="READ") as session:
        doc = session.execute_read(_read, profile_id)
    if doc is None:
        raise NotFound("ref", f"no profile {profile_id!r}")
    return doc
