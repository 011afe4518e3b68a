"""A straightforward Python evaluation of a filter tree over profile snapshots: what the compiled
Cypher must agree with. Written from the semantics in app/segments/compiler.py's docstring, not
from its fragments."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.segments.models import (And, EventCondition, IdentifierCondition, Not, Or, ProfileCondition,
                                 PropertyCondition, SegmentCondition, TraitCondition)
from app.segments.values import DAY_MS, epoch_ms, is_iso_date, is_number

MIN, MAX = -(2**63), 2**63 - 1


@dataclass
class Snapshot:
    """One live profile as stored: node properties, identifiers (type, value), its events' properties."""

    id: str
    props: dict[str, Any]
    identifiers: list[tuple[str, str]]
    events: list[dict[str, Any]]
    segments: set[str] = field(default_factory=set)


def _as_list(stored: Any) -> list:
    if stored is None:
        return []
    return list(stored) if isinstance(stored, list) else [stored]


def _kind(op: str, value: Any, forced: str | None) -> str:
    if op == "within_last":
        return "date"
    if op in ("contains", "starts_with", "ends_with"):
        return "string"
    sample = value[0] if op in ("in", "not_in", "between") else value
    if forced:
        return forced
    if isinstance(sample, bool):
        return "boolean"
    if is_number(sample):
        return "number"
    return "date" if is_iso_date(sample) else "string"


def _typed(kind: str, x: Any) -> bool:
    return {"string": lambda: isinstance(x, str), "number": lambda: is_number(x),
            "boolean": lambda: isinstance(x, bool), "date": lambda: is_number(x) and not isinstance(x, float)}[kind]()


def compare(op: str, value: Any, stored: Any, forced: str | None = None, epoch_field: bool = False,
            now: int = 0) -> bool:
    vals = _as_list(stored)
    if op == "exists":
        return bool(vals)
    if op == "not_exists":
        return not vals
    kind = _kind(op, value, forced)
    target = value
    if kind == "date":
        if not epoch_field:
            vals = [epoch_ms(x) if is_iso_date(x) else None for x in vals]
        if op == "within_last":
            return any(x is not None and _typed(kind, x) and now - value * DAY_MS <= x <= now for x in vals)
        return _date_compare(op, value, vals)

    def test(x: Any, o: str) -> bool:
        if x is None or not _typed(kind, x):
            return False
        return {"eq": lambda: x == target, "gt": lambda: x > target, "gte": lambda: x >= target,
                "lt": lambda: x < target, "lte": lambda: x <= target, "contains": lambda: target in x,
                "starts_with": lambda: x.startswith(target), "ends_with": lambda: x.endswith(target),
                "in": lambda: x in target, "between": lambda: target[0] <= x <= target[1],
                "within_last": lambda: target[0] <= x <= target[1]}[o]()

    if op == "neq":
        return bool(vals) and not any(test(x, "eq") for x in vals)
    if op == "not_in":
        return bool(vals) and not any(test(x, "in") for x in vals)
    return any(test(x, op) for x in vals)


def _day(d: str) -> tuple[int, int]:
    """A filter date as (first ms, last ms): a date without a time is all of that UTC day."""
    first = epoch_ms(d)
    return (first, first) if "T" in d else (first, first + DAY_MS - 1)


def _date_compare(op: str, value: Any, stored: list) -> bool:
    vals = [x for x in stored if x is not None and _typed("date", x)]
    if op == "between":
        lo, hi = _day(value[0])[0], _day(value[1])[1]
        return any(lo <= x <= hi for x in vals)
    days = [_day(d) for d in value] if op in ("in", "not_in") else [_day(value)]
    within = any(lo <= x <= hi for x in vals for lo, hi in days)
    if op in ("eq", "in"):
        return within
    if op in ("neq", "not_in"):
        return bool(stored) and not within  # any stored value counts, dates or not
    (lo, hi), = days
    return any({"gt": x > hi, "gte": x >= lo, "lt": x < lo, "lte": x <= hi}[op] for x in vals)


def _event_count(node: EventCondition, snap: Snapshot, now: int) -> int:
    start, end = MIN, MAX
    if node.window is not None and node.window.days is not None:
        start, end = now - node.window.days * DAY_MS, now
    elif node.window is not None:
        start, end = _day(node.window.start)[0], _day(node.window.end)[1]
    n = 0
    for e in snap.events:
        if e.get("event") != node.name or not start <= e["ts"] <= end:
            continue
        if all(compare(w.op, w.value, e.get("p." + w.name), now=now) for w in node.where):
            n += 1
    return n


_COUNT = {"eq": lambda a, b: a == b, "gte": lambda a, b: a >= b, "gt": lambda a, b: a > b,
          "lte": lambda a, b: a <= b, "lt": lambda a, b: a < b}
_PROFILE_FORCED = {"firstSeen": "date", "lastSeen": "date", "sources": "string", "eventCount": "number"}


def matches(node, snap: Snapshot, now: int, definitions: dict[str, Any] | None = None) -> bool:
    if isinstance(node, And):
        return all(matches(c, snap, now, definitions) for c in node.filters)
    if isinstance(node, Or):
        return any(matches(c, snap, now, definitions) for c in node.filters)
    if isinstance(node, Not):
        return not matches(node.filter, snap, now, definitions)
    if isinstance(node, TraitCondition):
        return compare(node.op, node.value, snap.props.get("t." + node.name), now=now)
    if isinstance(node, ProfileCondition):
        return compare(node.op, node.value, snap.props.get(node.field), _PROFILE_FORCED[node.field],
                       epoch_field=node.field in ("firstSeen", "lastSeen"), now=now)
    if isinstance(node, IdentifierCondition):
        if node.kind == "email_domain":
            values = [v.rsplit("@", 1)[-1] for t, v in snap.identifiers if t == "email"]
        else:
            values = [v for t, v in snap.identifiers if t == node.kind]
        return compare(node.op, node.value, values, "string", now=now)
    if isinstance(node, EventCondition):
        return _COUNT[node.count.op](_event_count(node, snap, now), node.count.value)
    if isinstance(node, SegmentCondition):
        if definitions is not None and node.segment_id in definitions:
            return matches(definitions[node.segment_id], snap, now, definitions)
        return node.segment_id in snap.segments
    assert isinstance(node, PropertyCondition)
    raise TypeError("a property condition only appears inside a behaviour condition")


def select(tree, snapshots: list[Snapshot], now: int, definitions: dict[str, Any] | None = None) -> set[str]:
    return {s.id for s in snapshots if matches(tree, s, now, definitions)}
