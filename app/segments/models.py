"""The segment filter tree: and / or / not over conditions, discriminated by `type`.

Shape only; which operators and values make sense together (and which names are allowed) is
checked by app.segments.validate, so errors can name the exact field path.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

Op = Literal["eq", "neq", "gt", "gte", "lt", "lte", "contains", "starts_with", "ends_with", "in", "not_in",
             "exists", "not_exists", "between", "within_last"]
CountOp = Literal["eq", "gte", "gt", "lte", "lt"]
IdentifierKind = Literal["user_id", "anonymous_id", "email", "phone", "email_domain"]
ProfileField = Literal["firstSeen", "lastSeen", "sources", "eventCount"]

MAX_CHILDREN = 50
Name = Annotated[StrictStr, Field(min_length=1, max_length=200)]


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TraitCondition(_Node):
    """A profile trait, by its dotted name (`address.city`)."""

    type: Literal["trait"] = "trait"
    name: Name
    op: Op
    value: Any = None


class IdentifierCondition(_Node):
    """The profile's identifiers of one type (any of them), or the domains of its emails."""

    type: Literal["identifier"] = "identifier"
    kind: IdentifierKind
    op: Op
    value: Any = None


class ProfileCondition(_Node):
    type: Literal["profile"] = "profile"
    field: ProfileField
    op: Op
    value: Any = None


class PropertyCondition(_Node):
    """An event property (`properties.total`), inside a behaviour condition."""

    name: Name
    op: Op
    value: Any = None


class Count(_Node):
    op: CountOp = "gte"
    value: Annotated[StrictInt, Field(ge=0, le=1_000_000)] = 1


class Window(_Node):
    """Within the last `days` days, or between two ISO dates (inclusive: a date-only end takes in
    that whole UTC day); absent = ever."""

    days: Annotated[StrictInt, Field(ge=1, le=36_500)] | None = None
    start: StrictStr | None = None
    end: StrictStr | None = None


class EventCondition(_Node):
    """Performed track event `name` (with property filters) a number of times in a window."""

    type: Literal["event"] = "event"
    name: Annotated[StrictStr, Field(min_length=1, max_length=1024)]
    where: Annotated[list[PropertyCondition], Field(max_length=20)] = []
    count: Count = Count()
    window: Window | None = None


class SegmentCondition(_Node):
    """Membership of another (materialised) segment."""

    type: Literal["segment"] = "segment"
    segment_id: Annotated[StrictStr, Field(min_length=1, max_length=100)]


class And(_Node):
    type: Literal["and"] = "and"
    filters: Annotated[list[Filter], Field(min_length=1, max_length=MAX_CHILDREN)]


class Or(_Node):
    type: Literal["or"] = "or"
    filters: Annotated[list[Filter], Field(min_length=1, max_length=MAX_CHILDREN)]


class Not(_Node):
    type: Literal["not"] = "not"
    filter: Filter


Filter = Annotated[And | Or | Not | TraitCondition | IdentifierCondition | ProfileCondition | EventCondition
                   | SegmentCondition, Field(discriminator="type")]
Condition = TraitCondition | IdentifierCondition | ProfileCondition | PropertyCondition
TAGS = frozenset({"and", "or", "not", "trait", "identifier", "profile", "event", "segment"})

for _model in (And, Or, Not):
    _model.model_rebuild()


def walk(node: Filter):
    """Every node of the tree, parents first."""
    yield node
    if isinstance(node, (And, Or)):
        for child in node.filters:
            yield from walk(child)
    elif isinstance(node, Not):
        yield from walk(node.filter)


def segment_refs(node: Filter) -> set[str]:
    return {n.segment_id for n in walk(node) if isinstance(n, SegmentCondition)}


def time_dependent(node: Filter) -> bool:
    """Whether membership can change with the passing of time alone (so beat re-evaluates it)."""
    for n in walk(node):
        if isinstance(n, (TraitCondition, ProfileCondition, IdentifierCondition)) and n.op == "within_last":
            return True
        if isinstance(n, EventCondition) and ((n.window is not None and n.window.days is not None)
                                              or any(w.op == "within_last" for w in n.where)):
            return True
    return False


def depth(node: Filter) -> int:
    if isinstance(node, (And, Or)):
        return 1 + max(depth(c) for c in node.filters)
    if isinstance(node, Not):
        return 1 + depth(node.filter)
    return 1
