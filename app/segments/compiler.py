"""Filter tree -> one Cypher predicate over the profile `p`, plus its parameters.

The text is assembled only from the fixed fragments below; every name (trait, event property,
event, segment id) and every value travels as a `$cN` parameter, so no user string can change the
query's structure. Each condition is two-valued (never null), so NOT means what it says.

Semantics shared with the reference evaluator in tests/segments/reference.py:
- a field holds a list of values (a scalar is a list of one, missing is empty); a condition holds
  when any value satisfies it; neq / not_in hold when there are values and none is equal / in;
- comparisons are typed by the filter value: numbers with numbers, strings with strings,
  booleans with booleans, ISO dates with ISO dates (as epoch ms); other values never match;
- a date-only filter value stands for its whole UTC day, a date-time for one instant (values.span);
- behaviour counts a profile's track events named N (with property filters) in a window.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.db import INT64_MAX, INT64_MIN
from app.segments import values as v
from app.segments.models import (And, EventCondition, Filter, IdentifierCondition, Not, Or, ProfileCondition,
                                 PropertyCondition, SegmentCondition, TraitCondition)
from app.segments.validate import comparison_kind, forced_kind

FILTER_MARKER = "/*filter*/ true"

# Where a condition's values come from (`{n}` is the name's parameter).
_TRAIT = "p['t.' + {n}]"
_PROPERTY = "e['p.' + {n}]"
_PROFILE = {"firstSeen": "p.firstSeen", "lastSeen": "p.lastSeen", "eventCount": "p.eventCount",
            "sources": "p.sources"}
_IDENTIFIERS = "COLLECT {{ MATCH (p)<-[:BELONGS_TO]-(i:Identifier) WHERE i.type = {n} RETURN i.value }}"
_EMAIL_DOMAINS = ("COLLECT { MATCH (p)<-[:BELONGS_TO]-(i:Identifier) WHERE i.type = 'email' "
                  "RETURN split(i.value, '@')[-1] }")
_AS_LIST = "CASE WHEN {x} IS NULL THEN [] WHEN {x} IS :: LIST<ANY> THEN {x} ELSE [{x}] END"
# ISO strings -> epoch ms (null when not a date); the pattern only admits what datetime() parses.
_AS_EPOCH = "[y IN {src} | CASE WHEN y IS :: STRING NOT NULL AND y =~ $iso THEN datetime(y).epochMillis END]"

_GUARD = {v.STRING: "x IS :: STRING NOT NULL", v.NUMBER: "x IS :: INTEGER NOT NULL | FLOAT NOT NULL",
          v.BOOLEAN: "x IS :: BOOLEAN NOT NULL", v.DATE: "x IS :: INTEGER NOT NULL"}
_COMPARE = {"eq": "x = {a}", "neq": "x = {a}", "gt": "x > {a}", "gte": "x >= {a}", "lt": "x < {a}",
            "lte": "x <= {a}", "contains": "x CONTAINS {a}", "starts_with": "x STARTS WITH {a}",
            "ends_with": "x ENDS WITH {a}", "in": "x IN {a}", "not_in": "x IN {a}",
            "between": "{a} <= x <= {b}", "within_last": "{a} <= x <= {b}"}
# Dates compare against spans (values.span): a date-only value is its whole UTC day.
_IN_SPANS = "any(r IN {a} WHERE r[0] <= x <= r[1])"
_DATE_COMPARE = {**_COMPARE, "eq": "{a} <= x <= {b}", "neq": "{a} <= x <= {b}", "in": _IN_SPANS,
                 "not_in": _IN_SPANS}
_ANY = "coalesce(any(x IN {src} WHERE {guard} AND {cmp}), false)"
_NONE = "(size({src}) > 0 AND NOT coalesce(any(x IN {src} WHERE {guard} AND {cmp}), false))"
_EXISTS = {"exists": "size({src}) > 0", "not_exists": "size({src}) = 0"}

# Behaviour: the composite (identifier, ts) index finds each identifier's events in the window.
_EVENT = ("COUNT {{ MATCH (p)<-[:BELONGS_TO]-(i:Identifier) MATCH (e:Event) "
          "WHERE e.identifier = i.key AND e.ts >= {start} AND e.ts <= {end} AND e.event = {name} "
          "AND {where} }} {op} {count}")
_COUNT_OPS = {"eq": "=", "gte": ">=", "gt": ">", "lte": "<=", "lt": "<"}
_SEGMENT = "EXISTS {{ (p)-[:IN_SEGMENT]->(:Segment {{id: {id}}}) }}"
_GROUP = {And: " AND ", Or: " OR "}


@dataclass
class Compiled:
    predicate: str
    params: dict[str, Any] = field(default_factory=dict)

    def render(self, template: str) -> str:
        """The template with its filter marker replaced by this predicate."""
        if FILTER_MARKER not in template:
            raise ValueError("template has no filter marker")
        return template.replace(FILTER_MARKER, f"({self.predicate})")


class _Compiler:
    def __init__(self, now_ms: int, prefix: str):
        self.now = now_ms
        self.prefix = prefix
        self.params: dict[str, Any] = {"iso": v.ISO_DATE}

    def param(self, value: Any) -> str:
        name = f"{self.prefix}c{len(self.params) - 1}"
        self.params[name] = value
        return "$" + name

    def node(self, node: Filter) -> str:
        if isinstance(node, (And, Or)):
            # Cheap conditions first: plain AND / OR (not CASE, which would hide the subqueries'
            # plans from EXPLAIN) leaves the order to the planner, but it starts from this one.
            return "(" + _GROUP[type(node)].join(self.node(c) for c in sorted(node.filters, key=_cost)) + ")"
        if isinstance(node, Not):
            return f"(NOT {self.node(node.filter)})"
        if isinstance(node, EventCondition):
            return self.event(node)
        if isinstance(node, SegmentCondition):
            return _SEGMENT.format(id=self.param(node.segment_id))
        return self.condition(node, self.source(node))

    def source(self, node: Any) -> str:
        """A list expression of the condition's stored values."""
        if isinstance(node, TraitCondition):
            return _AS_LIST.format(x=_TRAIT.format(n=self.param(node.name)))
        if isinstance(node, PropertyCondition):
            return _AS_LIST.format(x=_PROPERTY.format(n=self.param(node.name)))
        if isinstance(node, ProfileCondition):
            return _AS_LIST.format(x=_PROFILE[node.field])
        if node.kind == "email_domain":
            return _EMAIL_DOMAINS
        return _IDENTIFIERS.format(n=self.param(node.kind))

    def condition(self, node: Any, src: str) -> str:
        op = node.op
        if op in _EXISTS:
            return _EXISTS[op].format(src=src)
        kind = comparison_kind(op, node.value, forced_kind(node))
        if kind == v.DATE and not isinstance(node, ProfileCondition):
            src = _AS_EPOCH.format(src=src)  # profile dates are stored as epoch ms already
        a, b = self.date_operands(op, node.value) if kind == v.DATE else self.operands(op, node.value)
        cmp = (_DATE_COMPARE if kind == v.DATE else _COMPARE)[op].format(a=a, b=b)
        template = _NONE if op in ("neq", "not_in") else _ANY
        return template.format(src=src, guard=_GUARD[kind], cmp=cmp)

    def operands(self, op: str, value: Any) -> tuple[str, str | None]:
        if op == "between":
            return self.param(value[0]), self.param(value[1])
        return self.param(value), None

    def date_operands(self, op: str, value: Any) -> tuple[str, str | None]:
        """Epoch ms bounds: a lower bound from the first ms of its span, an upper one to its last."""
        if op == "within_last":
            return self.param(self.now - value * v.DAY_MS), self.param(self.now)
        if op == "between":
            return self.param(v.span(value[0])[0]), self.param(v.span(value[1])[1])
        if op in ("in", "not_in"):
            return self.param([list(v.span(x)) for x in value]), None
        first, last = v.span(value)
        if op in ("gt", "lte"):  # after the span / up to its end
            return self.param(last), None
        if op in ("gte", "lt"):  # from its start / before it
            return self.param(first), None
        return self.param(first), self.param(last)  # eq, neq: within the span

    def event(self, node: EventCondition) -> str:
        start, end = INT64_MIN, INT64_MAX
        if node.window is not None and node.window.days is not None:
            start, end = self.now - node.window.days * v.DAY_MS, self.now
        elif node.window is not None:
            start, end = v.span(node.window.start)[0], v.span(node.window.end)[1]
        where = " AND ".join(self.condition(w, self.source(w)) for w in node.where) or "true"
        return _EVENT.format(start=self.param(start), end=self.param(end), name=self.param(node.name),
                             where=where, op=_COUNT_OPS[node.count.op], count=self.param(node.count.value))


def _cost(node: Filter) -> int:
    """Evaluation order within a group: properties, then one-hop subqueries, then event counts."""
    if isinstance(node, (And, Or)):
        return max(_cost(c) for c in node.filters)
    if isinstance(node, Not):
        return _cost(node.filter)
    if isinstance(node, EventCondition):
        return 2
    return 1 if isinstance(node, (IdentifierCondition, SegmentCondition)) else 0


def compile_filter(tree: Filter, now_ms: int, prefix: str = "") -> Compiled:
    """A validated tree (app.segments.validate.check) as a predicate on `p`, relative to `now_ms`.
    `prefix` (a fixed `s<n>_`) keeps the parameters of several segments in one query apart."""
    c = _Compiler(now_ms, prefix)
    return Compiled(c.node(tree), c.params)
