"""Incremental upkeep: re-evaluate the profiles an ingest batch (or a split) touched.

The common case is that nothing changes, so it is made cheap: one read-only query checks every
segment for every touched profile, and only segments with a wrong membership get a write
transaction (segments/apply, which re-evaluates under the segment's lock). Definitions are cached
per process; the check returns the catalogue's (id, version) pairs, so a cache that went stale
(a segment saved or deleted meanwhile) is noticed in the same round trip and reloaded.
"""
from __future__ import annotations

import threading

from neo4j import Driver

from app.db import query
from app.segments import membership
from app.segments.compiler import compile_filter
from app.segments.membership import StoredSegment

CHECKS_MARKER = "/*checks*/ []"
_CHECK = ("CASE WHEN (p.retiredAt IS NULL AND ({predicate})) <> EXISTS {{ (p)-[:IN_SEGMENT]->(:Segment {{id: "
          "{segment}}}) }} THEN {segment} END")


class _Catalog:
    """Cached definitions per database, with the (id, version) pairs they were loaded at."""

    def __init__(self):
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[list, list[StoredSegment]]] = {}

    def get(self, database: str) -> tuple[list, list[StoredSegment]] | None:
        with self._lock:
            return self._cache.get(database)

    def load(self, driver: Driver, database: str) -> tuple[list, list[StoredSegment]]:
        segments = membership.load_segments(driver, database)
        catalog = sorted([s.id, s.version] for s in segments)  # a save bumps the version
        with self._lock:
            self._cache[database] = (catalog, segments)
        return catalog, segments


CATALOG = _Catalog()


def _check(driver: Driver, database: str, segments: list[StoredSegment], ids: list[str], now: int):
    items, params = [], {}
    for n, segment in enumerate(segments):
        compiled = compile_filter(segment.tree, now, prefix=f"s{n}_")
        params.update(compiled.params)
        params[f"s{n}_segment"] = segment.id
        items.append(_CHECK.format(predicate=compiled.predicate, segment=f"$s{n}_segment"))
    text = query("segments/check").replace(CHECKS_MARKER, "[" + ", ".join(items) + "]")
    records, _, _ = driver.execute_query(text, {**params, "ids": ids}, database_=database, routing_="r")
    if not records:
        return None, {}
    wrong: dict[str, set[str]] = {}
    for row in records[0]["wrong"]:
        for segment_id in row["segments"]:
            wrong.setdefault(segment_id, set()).add(row["id"])
    return sorted(list(pair) for pair in records[0]["catalog"]), wrong


def upkeep(driver: Driver, database: str, profile_ids, now: int | None = None) -> dict:
    """Bring every segment's membership of these profiles up to date; returns counts."""
    now = membership.now_ms() if now is None else now
    ids = sorted(set(profile_ids))
    if not ids:
        return {"profiles": 0, "segments": 0, "changes": 0}
    cached = CATALOG.get(database) or CATALOG.load(driver, database)
    catalog, wrong = _check(driver, database, cached[1], ids, now)
    if catalog is not None and catalog != cached[0]:
        cached = CATALOG.load(driver, database)
        catalog, wrong = _check(driver, database, cached[1], ids, now)
    changes = 0
    moved: set[str] = set()  # profiles whose membership changed: segments that use it see them too
    for segment in cached[1]:  # dependency order
        todo = wrong.get(segment.id, set()) | (moved if segment.depends_on else set())
        if todo:
            changed = membership.apply(driver, database, segment, todo, now)
            changes += len(changed)
            moved |= changed
    return {"profiles": len(ids), "segments": len(cached[1]), "changes": changes}
