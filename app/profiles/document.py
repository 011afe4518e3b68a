"""The unified profile document: identifiers, traits (newest wins), activity and computed traits.

Nothing here is stored on the profile: events hang off identifiers, so the document is read from
the events of the profile's current identifiers, and stays right after merges and late messages.
"""
from __future__ import annotations

from collections import Counter

import orjson
from neo4j import READ_ACCESS, Driver, ManagedTransaction

from app.db import query
from app.errors import NotFound
from app.ingest.timestamps import iso_ms

# Track events that count as a conversion in computedTraits.conversions. Matching is on the exact
# event name; change this tuple to fit the business (it is deliberately code, not data, so a change
# is reviewed and tested).
CONVERSION_EVENTS: tuple[str, ...] = ("Order Completed", "Subscription Started", "Checkout Completed",
                                      "Upgraded Plan")



def merge_traits(rows: list[dict]) -> dict[str, dict]:
    """Newest event timestamp wins per top-level trait key.

    Ties on timestamp go to the later-received message, then the greater messageId, so the answer
    never depends on read order. Rows are identify events (their `traits`).
    """
    out: dict[str, dict] = {}
    for row in sorted(rows, key=lambda r: (r["ts"], r["receivedAt"] or "", r["messageId"])):
        stamp = {"setAt": row["timestamp"], "source": row["source"]}
        for name, value in _json_object(row["traits"]).items():
            out[name] = {"value": value, **stamp}
    return out


def _json_object(text: str | None) -> dict:
    if not text:
        return {}
    value = orjson.loads(text)
    return value if isinstance(value, dict) else {}


def computed_traits(activity: list[dict], conversions: tuple[str, ...] = CONVERSION_EVENTS) -> dict:
    """From (type, event, source, n, first, last) rows: per-name track counts and last times,
    page and screen views, and conversions."""
    counts: Counter[str] = Counter()
    last: dict[str, int] = {}
    page_views = screen_views = 0
    for row in activity:
        if row["type"] == "track" and row["event"] is not None:
            counts[row["event"]] += row["n"]
            last[row["event"]] = max(last.get(row["event"], row["last"]), row["last"])
        elif row["type"] == "page":
            page_views += row["n"]
        elif row["type"] == "screen":
            screen_views += row["n"]
    return {
        "eventCounts": dict(sorted(counts.items())),
        "pageViews": page_views,
        "screenViews": screen_views,
        "conversions": sum(counts[name] for name in set(conversions)),
        "lastEvent": {name: iso_ms(ms) for name, ms in sorted(last.items())},
    }


def read_documents(tx: ManagedTransaction, ids: list[str]) -> list[dict]:
    """The documents of profile ids, in their order, read in the caller's transaction (so a merge
    landing between the two reads cannot tear a document); ids with no profile are left out."""
    heads = {r["profile"]["id"]: r for r in tx.run(query("profiles/document_profile"), ids=ids)}
    events = {r["id"]: r for r in tx.run(query("profiles/document_events"), ids=ids)}
    return [_document(heads[i], events[i]["activity"], events[i]["traits"]) for i in ids if i in heads]


def _document(head, activity: list[dict], trait_rows: list[dict]) -> dict:
    profile = head["profile"]
    firsts = [r["first"] for r in activity if r["first"] is not None]
    lasts = [r["last"] for r in activity if r["last"] is not None]
    identifiers = sorted(head["identifiers"], key=lambda i: (i["type"], i["value"]))
    return {
        "id": profile["id"],
        "identifiers": [{"type": i["type"], "value": i["value"], "firstSeen": iso_ms(i["firstSeen"]),
                         "lastSeen": iso_ms(i["lastSeen"])} for i in identifiers],
        "traits": merge_traits(trait_rows),
        # The events are the truth; the profile's own window is the fallback for an eventless profile.
        "firstSeen": iso_ms(min(firsts) if firsts else profile["firstSeen"]),
        "lastSeen": iso_ms(max(lasts) if lasts else profile["lastSeen"]),
        "eventCount": sum(r["n"] for r in activity),
        "sources": sorted({r["source"] for r in activity if r["source"] is not None}),
        "computedTraits": computed_traits(activity),
        "mergedFrom": sorted(head["mergedFrom"]),
        "segments": [{"id": m["id"], "name": m["name"], "since": iso_ms(m["since"])}
                     for m in sorted(head["segments"], key=lambda m: (m["name"] or "", m["id"]))],
    }


def profile_document(driver: Driver, database: str, profile_id: str) -> dict:
    """The document of a profile id (as resolved: pass a live id). NotFound if there is no such profile."""
    with driver.session(database=database, default_access_mode=READ_ACCESS) as session:
        docs = session.execute_read(read_documents, [profile_id])
    if not docs:
        raise NotFound("ref", f"no profile {profile_id!r}")
    return docs[0]
