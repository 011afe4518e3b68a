"""Filter tree -> canonical text form (see app.segments.text for the grammar).

Groups print without brackets where precedence allows, a nested group of the same kind keeps its
brackets (so the tree's shape survives the round trip), and a group of one prints as its member.
"""
from __future__ import annotations

from typing import Any

from app.segments.models import (And, Count, EventCondition, Filter, IdentifierCondition, Not, Or,
                                 ProfileCondition, TraitCondition)
from app.segments.validate import NAME_PATTERN

_SYMBOL = {"eq": "=", "neq": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


def _days(n: int) -> str:
    return f"{n} DAY" if n == 1 else f"{n} DAYS"


def _predicate(op: str, value: Any) -> str:
    if op in _SYMBOL:
        return f"{_SYMBOL[op]} {_value(value)}"
    if op in ("in", "not_in"):
        return ("NOT IN (" if op == "not_in" else "IN (") + ", ".join(_value(x) for x in value) + ")"
    if op in ("exists", "not_exists"):
        return "EXISTS" if op == "exists" else "NOT EXISTS"
    if op == "between":
        return f"BETWEEN {_value(value[0])} AND {_value(value[1])}"
    if op == "within_last":
        return f"WITHIN LAST {_days(value)}"
    return f"{op.replace('_', ' ').upper()} {_value(value)}"


def _name(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if NAME_PATTERN.fullmatch(name) else f"{prefix}[{_value(name)}]"


def _unwrap(node: Filter) -> Filter:
    """A group of one prints as its only member."""
    while isinstance(node, (And, Or)) and len(node.filters) == 1:
        node = node.filters[0]
    return node


def _event(node: EventCondition) -> str:
    out = "performed(" + _value(node.name)
    if node.where:
        out += " WHERE " + " AND ".join(f"{_name('properties', w.name)} {_predicate(w.op, w.value)}"
                                        for w in node.where)
    out += ")"
    if node.count != Count():
        out += f" {_SYMBOL[node.count.op]} {node.count.value}"
    if node.window is not None and node.window.days is not None:
        out += f" WITHIN {_days(node.window.days)}"
    elif node.window is not None:
        out += f" BETWEEN {_value(node.window.start)} AND {_value(node.window.end)}"
    return out


def print_text(node: Filter) -> str:
    node = _unwrap(node)
    if isinstance(node, (And, Or)):
        joiner = " AND " if isinstance(node, And) else " OR "
        parts = []
        for child in node.filters:
            child = _unwrap(child)
            text = print_text(child)
            nested = isinstance(child, Or) or (isinstance(child, And) and isinstance(node, And))
            parts.append(f"({text})" if nested else text)
        return joiner.join(parts)
    if isinstance(node, Not):
        inner = _unwrap(node.filter)
        text = print_text(inner)
        return "NOT " + (f"({text})" if isinstance(inner, (And, Or)) else text)
    if isinstance(node, TraitCondition):
        return f"{_name('traits', node.name)} {_predicate(node.op, node.value)}"
    if isinstance(node, ProfileCondition):
        return f"profile.{node.field} {_predicate(node.op, node.value)}"
    if isinstance(node, IdentifierCondition):
        return f"identifiers.{node.kind} {_predicate(node.op, node.value)}"
    if isinstance(node, EventCondition):
        return _event(node)
    return f"in_segment({_value(node.segment_id)})"
