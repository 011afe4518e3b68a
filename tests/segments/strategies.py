"""Hypothesis strategies for valid filter trees over a vocabulary of names and values."""
from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from app.segments.models import (And, Count, EventCondition, IdentifierCondition, Not, Or, ProfileCondition,
                                 PropertyCondition, SegmentCondition, TraitCondition, Window)
from app.segments.values import is_iso_date

_OPS = {
    "string": ["eq", "neq", "gt", "gte", "lt", "lte", "contains", "starts_with", "ends_with", "in", "not_in",
               "between", "exists", "not_exists"],
    "number": ["eq", "neq", "gt", "gte", "lt", "lte", "in", "not_in", "between", "exists", "not_exists"],
    "boolean": ["eq", "neq", "in", "not_in", "exists", "not_exists"],
    "date": ["eq", "neq", "gt", "gte", "lt", "lte", "in", "not_in", "between", "within_last", "exists", "not_exists"],
}


@dataclass
class Vocab:
    traits: st.SearchStrategy
    props: st.SearchStrategy
    events: st.SearchStrategy
    strings: st.SearchStrategy
    numbers: st.SearchStrategy
    dates: st.SearchStrategy
    days: st.SearchStrategy
    segments: st.SearchStrategy | None = None


def plain(strings: st.SearchStrategy) -> st.SearchStrategy:
    """Strings that compare as strings (an ISO date would make the comparison a date one)."""
    return strings.filter(lambda s: not is_iso_date(s))


@st.composite
def op_value(draw, vocab: Vocab, kind: str | None = None) -> dict:
    kind = kind or draw(st.sampled_from(list(_OPS)))
    op = draw(st.sampled_from(_OPS[kind]))
    scalar = {"string": plain(vocab.strings), "number": vocab.numbers, "boolean": st.booleans(),
              "date": vocab.dates}[kind]
    if op in ("exists", "not_exists"):
        return {"op": op}
    if op == "within_last":
        return {"op": op, "value": draw(vocab.days)}
    if op in ("in", "not_in"):
        return {"op": op, "value": draw(st.lists(scalar, min_size=1, max_size=3))}
    if op == "between":
        return {"op": op, "value": [draw(scalar), draw(scalar)]}
    return {"op": op, "value": draw(scalar)}


@st.composite
def conditions(draw, vocab: Vocab):
    choice = draw(st.sampled_from(["trait", "trait", "trait", "identifier", "profile", "event", "event",
                                   "segment" if vocab.segments is not None else "trait"]))
    if choice == "trait":
        return TraitCondition(name=draw(vocab.traits), **draw(op_value(vocab)))
    if choice == "identifier":
        kind = draw(st.sampled_from(["user_id", "anonymous_id", "email", "phone", "email_domain"]))
        ov = draw(op_value(Vocab(**{**vocab.__dict__, "strings": vocab.strings}), "string"))
        return IdentifierCondition(kind=kind, **ov)
    if choice == "profile":
        field = draw(st.sampled_from(["firstSeen", "lastSeen", "sources", "eventCount"]))
        kind = {"firstSeen": "date", "lastSeen": "date", "sources": "string", "eventCount": "number"}[field]
        return ProfileCondition(field=field, **draw(op_value(vocab, kind)))
    if choice == "segment":
        return SegmentCondition(segment_id=draw(vocab.segments))
    where = draw(st.lists(st.builds(lambda name, ov: PropertyCondition(name=name, **ov), vocab.props,
                                    op_value(vocab)), max_size=2))
    count = Count(op=draw(st.sampled_from(["eq", "gte", "gt", "lte", "lt"])), value=draw(st.integers(0, 3)))
    window = draw(st.one_of(st.none(), st.builds(lambda d: Window(days=d), vocab.days),
                            st.builds(lambda a, b: Window(start=a, end=b), vocab.dates, vocab.dates)))
    return EventCondition(name=draw(vocab.events), where=where, count=count, window=window)


def trees(vocab: Vocab, max_leaves: int = 6) -> st.SearchStrategy:
    def extend(children):
        groups = st.lists(children, min_size=2, max_size=3)
        return st.one_of(st.builds(lambda f: And(filters=f), groups), st.builds(lambda f: Or(filters=f), groups),
                         st.builds(lambda f: Not(filter=f), children))

    return st.recursive(conditions(vocab), extend, max_leaves=max_leaves)


# Anything at all: names and strings of any characters, for the text form and the compiler's safety.
_any_text = st.text(min_size=1, max_size=12)
ANYTHING = Vocab(traits=_any_text, props=_any_text, events=_any_text, strings=st.text(max_size=12),
                 numbers=st.one_of(st.integers(-(2**63), 2**63 - 1),
                                   st.floats(allow_nan=False, allow_infinity=False)),
                 dates=st.sampled_from(["2026-01-01", "2026-02-28T23:59:59.123Z", "1999-12-31T23:00:00+05:30",
                                        "2024-02-29T10:00"]),
                 days=st.integers(1, 36_500), segments=_any_text)
