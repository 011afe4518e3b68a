"""Segments as a resource: definitions (tree or text), preview, save, members. No HTTP here."""
from __future__ import annotations

import uuid
from typing import Any

import orjson
from neo4j import Driver, ManagedTransaction

from app.db import query
from app.errors import NotFound
from app.identity.rules import IdentityRules
from app.ingest.messages import FieldError, MessageErrors
from app.ingest.timestamps import DAY_MS, iso_ms
from app.profiles.resolve import is_profile_id
from app.segments import membership
from app.segments.compiler import compile_filter
from app.segments.models import Filter, segment_refs, time_dependent
from app.segments.printer import print_text
from app.segments.text import parse_text
from app.segments.validate import check, normalise_identifiers, parse_tree, unusual_trait_names
from app.settings import get_settings

MAX_SAMPLE = 100
MAX_PAGE = 1000


def definition(driver: Driver, database: str, raw: Any = None, text: str | None = None,
               rules: IdentityRules | None = None) -> Filter:
    """A checked filter tree from exactly one of `definition` (the tree) or `text`, its identifier
    values normalised by `rules` (default: from the settings), so preview, save and upkeep all
    compile the values as ingest stores them."""
    if (raw is None) == (text is None):
        raise FieldError("definition", "give exactly one of definition (a filter tree) or text")
    tree = parse_text(text) if text is not None else parse_tree(raw)
    field = "text" if text is not None else "definition"
    unusual = unusual_trait_names(tree)
    known: set[str] = set()
    if unusual:
        records, _, _ = driver.execute_query(query("segments/known_traits"), names=sorted(unusual),
                                             database_=database)
        known = {r["name"] for r in records}
    check(tree, field, known)
    return normalise_identifiers(tree, rules or IdentityRules(get_settings()), field)


def _missing_refs(tx: ManagedTransaction, refs: set[str], field: str, now: int) -> None:
    found = {r["id"] for r in tx.run(query("segments/lock"), ids=sorted(refs), now=now)}
    _refuse_missing(refs - found, field)


def _refuse_missing(missing: set[str], field: str) -> None:
    if missing:
        raise MessageErrors([FieldError(field, f"in_segment refers to unknown segment {m!r}")
                             for m in sorted(missing)])


def preview(driver: Driver, database: str, tree: Filter, sample: int = 10, field: str = "definition") -> dict:
    refs = segment_refs(tree)
    if refs:
        records, _, _ = driver.execute_query(query("segments/existing"), ids=sorted(refs), database_=database)
        _refuse_missing(refs - {r["id"] for r in records}, field)
    compiled = compile_filter(tree, membership.now_ms())
    records, _, _ = driver.execute_query(compiled.render(query("segments/preview")),
                                         {**compiled.params, "sample": sample}, database_=database)
    return {"count": records[0]["count"], "sample": records[0]["sample"], "definition": tree.model_dump(),
            "text": print_text(tree)}


def _document(row: dict) -> dict:
    return {"id": row["id"], "name": row["name"], "description": row.get("description"),
            "definition": orjson.loads(row["definition"]), "text": row["text"],
            "memberCount": row.get("memberCount", 0), "latestSeq": row.get("seq", 0),
            "timeDependent": row.get("timeDependent", False), "dependsOn": row.get("dependsOn") or [],
            "version": row["version"], "createdAt": iso_ms(row.get("createdAt")),
            "updatedAt": iso_ms(row.get("updatedAt")), "evaluatedAt": iso_ms(row.get("evaluatedAt"))}


def _fields(tree: Filter, name: str, description: str | None) -> dict:
    return {"name": name, "description": description, "definition": orjson.dumps(tree.model_dump()).decode(),
            "text": print_text(tree), "dependsOn": sorted(segment_refs(tree)),
            "timeDependent": time_dependent(tree)}


def get_segment(driver: Driver, database: str, segment_id: str) -> dict:
    records, _, _ = driver.execute_query(query("segments/get"), id=segment_id, database_=database)
    if not records:
        raise NotFound("id", f"no segment {segment_id!r}")
    return _document(records[0]["segment"])


def list_segments(driver: Driver, database: str) -> dict:
    records, _, _ = driver.execute_query(query("segments/list"), database_=database)
    return {"segments": [_document(r["segment"]) for r in records]}


def create_segment(driver: Driver, database: str, name: str, description: str | None, tree: Filter,
                   field: str = "definition") -> dict:
    now = membership.now_ms()
    segment_id = str(uuid.uuid4())

    def work(tx: ManagedTransaction) -> None:
        _missing_refs(tx, segment_refs(tree), field, now)
        tx.run(query("segments/create"), id=segment_id, now=now, **_fields(tree, name, description)).consume()

    with driver.session(database=database) as session:
        session.execute_write(work)
    membership.evaluate_segment(driver, database, segment_id, now)
    return get_segment(driver, database, segment_id)


def _reaches(graph: dict[str, set[str]], start: set[str], target: str) -> bool:
    seen, todo = set(), list(start)
    while todo:
        node = todo.pop()
        if node == target:
            return True
        if node not in seen:
            seen.add(node)
            todo.extend(graph.get(node, ()))
    return False


def update_segment(driver: Driver, database: str, segment_id: str, name: str, description: str | None,
                   tree: Filter, field: str = "definition") -> dict:
    now = membership.now_ms()
    refs = segment_refs(tree)

    def work(tx: ManagedTransaction) -> None:
        if not list(tx.run(query("segments/lock"), ids=[segment_id], now=now)):
            raise NotFound("id", f"no segment {segment_id!r}")
        _missing_refs(tx, refs, field, now)
        graph = {r["id"]: set(r["dependsOn"] or []) for r in tx.run(query("segments/definitions"))}
        if _reaches(graph, refs, segment_id):
            raise FieldError(field, "in_segment would make this segment depend on itself")
        tx.run(query("segments/update"), id=segment_id, now=now, **_fields(tree, name, description)).consume()

    with driver.session(database=database) as session:
        session.execute_write(work)
    membership.evaluate_segment(driver, database, segment_id, now)
    return get_segment(driver, database, segment_id)


def delete_segment(driver: Driver, database: str, segment_id: str) -> dict:
    def work(tx: ManagedTransaction) -> None:
        if not list(tx.run(query("segments/lock"), ids=[segment_id], now=membership.now_ms())):
            raise NotFound("id", f"no segment {segment_id!r}")
        users = [r["id"] for r in tx.run(query("segments/dependents"), id=segment_id)]
        if users:
            raise FieldError("id", f"segment is used by in_segment in {', '.join(sorted(users))}", 409)
        syncs = [r["id"] for r in tx.run(query("segments/syncs_using"), id=segment_id)]
        if syncs:
            raise FieldError("id", f"segment is synced by {', '.join(sorted(syncs))}; delete the sync(s) first "
                                   "(a sync's members would stay at its destination)", 409)
        tx.run(query("segments/delete"), id=segment_id).consume()

    with driver.session(database=database) as session:
        session.execute_write(work)
        session.run(query("segments/delete_changes"), id=segment_id).consume()
    return {"id": segment_id, "deleted": True}


def members(driver: Driver, database: str, segment_id: str, after: str | None, limit: int) -> dict:
    if after is not None and not is_profile_id(after):
        raise FieldError("after", "not a cursor returned by this endpoint (a profile id)")
    segment = get_segment(driver, database, segment_id)
    records, _, _ = driver.execute_query(query("segments/members"), segment=segment_id, after=after or "",
                                         limit=limit, database_=database)
    rows = [{"profileId": r["profileId"], "since": iso_ms(r["since"])} for r in records]
    return {"segmentId": segment_id, "memberCount": segment["memberCount"], "members": rows,
            "next": rows[-1]["profileId"] if len(rows) == limit else None}


VOCABULARY_TRAITS = 500
VOCABULARY_EVENTS = 100
VOCABULARY_DAYS = 30


def vocabulary(driver: Driver, database: str) -> dict:
    """Names a segment builder can offer: every registered trait name, and the track events of the
    last 30 days, most frequent first (an index range on event time, not a scan of all events)."""
    traits, _, _ = driver.execute_query(query("segments/vocabulary_traits"), limit=VOCABULARY_TRAITS,
                                        database_=database)
    now = membership.now_ms()
    events, _, _ = driver.execute_query(query("stats/top_events"), since=now - VOCABULARY_DAYS * DAY_MS,
                                        until=now + DAY_MS, limit=VOCABULARY_EVENTS, database_=database)
    return {"traits": [r["name"] for r in traits], "events": [r["event"] for r in events]}
