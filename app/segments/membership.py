"""Materialised membership: (:Profile)-[:IN_SEGMENT {since, seq}]->(:Segment), kept current, with
every entry and exit recorded as (:SegmentChange {segmentId, seq, profileId, kind, at}).

- app.segments.upkeep: the profiles an ingest batch (or a split) touched, against every segment;
- refresh(): full re-evaluation of time-dependent segments (beat), so members age out;
- evaluate_segment(): one segment in full (after a save), then its dependents.
Segments are visited in dependency order, each in its own transactions, so a segment that uses
another's membership sees it already updated.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import orjson
from neo4j import Driver

from app.db import query
from app.errors import NotFound
from app.ingest.timestamps import DAY_MS, now_ms
from app.segments.compiler import compile_filter
from app.segments.models import Filter
from app.segments.validate import parse_tree

APPLY_CHUNK = 2000  # profiles per upkeep transaction: keeps lock sets and transaction state small


@dataclass
class StoredSegment:
    id: str
    version: int
    tree: Filter
    depends_on: set[str]
    time_dependent: bool




def dependency_order(segments: list[StoredSegment]) -> list[StoredSegment]:
    """Dependencies first (saves refuse cycles; should one exist, it is broken arbitrarily)."""
    by_id = {s.id: s for s in segments}
    out: list[StoredSegment] = []
    state: dict[str, int] = {}

    def visit(s: StoredSegment) -> None:
        if state.get(s.id):
            return
        state[s.id] = 1
        for dep in sorted(s.depends_on):
            if dep in by_id:
                visit(by_id[dep])
        state[s.id] = 2
        out.append(s)

    for s in sorted(segments, key=lambda s: s.id):
        visit(s)
    return out


def load_segments(driver: Driver, database: str) -> list[StoredSegment]:
    records, _, _ = driver.execute_query(query("segments/definitions"), database_=database)
    return dependency_order([StoredSegment(r["id"], r["version"], parse_tree(orjson.loads(r["definition"])),
                                           set(r["dependsOn"] or []), bool(r["timeDependent"]))
                             for r in records])


def apply(driver: Driver, database: str, segment: StoredSegment, ids: Iterable[str], now: int) -> set[str]:
    """Re-evaluate these profiles; returns the ids whose membership changed."""
    compiled = compile_filter(segment.tree, now)
    text, params = compiled.render(query("segments/apply")), compiled.params
    ordered = sorted(set(ids))  # one lock order for every upkeep transaction
    changed: set[str] = set()
    with driver.session(database=database) as session:
        for start in range(0, len(ordered), APPLY_CHUNK):
            chunk = ordered[start:start + APPLY_CHUNK]

            def work(tx, chunk=chunk):
                record = tx.run(text, params, segment=segment.id, ids=chunk, now=now).single()
                return [] if record is None else record["changes"]

            changed.update(c["profile"] for c in session.execute_write(work))
    return changed


def wrong_members(driver: Driver, database: str, segment: StoredSegment, now: int) -> list[str]:
    """Ids whose membership differs from the definition now (a read, no locks)."""
    compiled = compile_filter(segment.tree, now)
    records, _, _ = driver.execute_query(compiled.render(query("segments/diff")),
                                         {**compiled.params, "segment": segment.id}, database_=database)
    return [r["id"] for r in records]


def evaluate_full(driver: Driver, database: str, segment: StoredSegment, now: int) -> set[str]:
    wrong = wrong_members(driver, database, segment, now)
    if wrong:
        return apply(driver, database, segment, wrong, now)
    driver.execute_query(query("segments/touch"), segment=segment.id, now=now, database_=database)
    return set()


def refresh(driver: Driver, database: str, now: int | None = None, everything: bool = False) -> dict:
    """Full re-evaluation of time-dependent segments (or all, as a reconcile), then of the
    segments that use them, for the profiles whose membership moved."""
    now = now_ms() if now is None else now
    moved: set[str] = set()
    touched_segments: set[str] = set()
    evaluated = 0
    for segment in load_segments(driver, database):
        if everything or segment.time_dependent:
            changed = evaluate_full(driver, database, segment, now)
        elif segment.depends_on & touched_segments and moved:
            changed = apply(driver, database, segment, moved, now)
        else:
            continue
        evaluated += 1
        if changed:
            moved |= changed
            touched_segments.add(segment.id)
    return {"segments": evaluated, "changes": len(moved)}


def evaluate_segment(driver: Driver, database: str, segment_id: str, now: int | None = None) -> int:
    """Bring one segment up to date in full, then the segments that depend on it."""
    now = now_ms() if now is None else now
    changed: set[str] = set()
    affected = {segment_id}
    for segment in load_segments(driver, database):
        if segment.id == segment_id:
            changed = evaluate_full(driver, database, segment, now)
        elif segment.depends_on & affected and changed:
            changed |= apply(driver, database, segment, changed, now)
            affected.add(segment.id)
    return len(changed)


def changes_since(driver: Driver, database: str, segment_id: str, after_seq: int = 0,
                  limit: int = 1000) -> dict:
    """The feed destination sync consumes: entries and exits after `after_seq`, in seq order.

    Seq numbers are per segment, gap-free and commit-ordered; a first seq above after_seq + 1
    means retention pruned what was missed (resync from the members)."""
    rows, _, _ = driver.execute_query(query("segments/changes"), segment=segment_id, after=after_seq,
                                      limit=limit, database_=database)
    # The head after the page, so latestSeq is never below a seq the page holds.
    records, _, _ = driver.execute_query(query("segments/get"), id=segment_id, database_=database)
    if not records:
        raise NotFound("id", f"no segment {segment_id!r}")
    changes = [dict(r) for r in rows]
    return {"segmentId": segment_id, "changes": changes,
            "next": changes[-1]["seq"] if changes else after_seq,
            "latestSeq": records[0]["segment"].get("seq", 0)}


def prune_changes(driver: Driver, database: str, retention_days: int, now: int | None = None) -> None:
    """Drop feed entries older than the retention (seq numbering carries on: gaps show the loss)."""
    now = now_ms() if now is None else now
    with driver.session(database=database) as session:
        session.run(query("segments/prune_changes"), before=now - retention_days * DAY_MS).consume()
