"""Profile roll-ups kept on the node for fast reads and segment filters: traits (`t.<name>`,
newest wins, with their time in `tts.<name>`), eventCount, sources. Ingest maintains them
incrementally; a split re-derives them from the events that stayed."""
from __future__ import annotations

import orjson
from neo4j import ManagedTransaction

from app.db import query
from app.ingest.prepare import flatten_traits


def derive_traits(trait_events: list[dict]) -> list[dict]:
    """Fold identify events' traits (profile_rollup picks those events) oldest to newest, as
    ingest sets them (prepare.py)."""
    newest: dict[str, dict] = {}
    for e in sorted(trait_events, key=lambda e: e["ts"]):
        traits = orjson.loads(e["traits"])
        found = flatten_traits(traits) if isinstance(traits, dict) else {}
        for name, value in found.items():
            newest[name] = {"name": name, "value": value, "ts": e["ts"]}
    return [t for t in newest.values() if t["value"] is not None]


def rederive(tx: ManagedTransaction, profile_id: str) -> None:
    r = tx.run(query("identity/profile_rollup"), profile=profile_id).single()
    tx.run(query("identity/replace_traits"), profile=profile_id, events=r["events"], sources=sorted(r["sources"]),
           firstSeen=r["firstSeen"], lastSeen=r["lastSeen"],
           traits=derive_traits([e for e in r["traitEvents"] if e is not None])).consume()
