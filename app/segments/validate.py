"""What a filter tree may say: operators that fit the field and value, allowed names, limits.

Every problem is a FieldError whose path points into the request (`definition.filters[1].value`).
"""
from __future__ import annotations

import re
from typing import Any

from pydantic import TypeAdapter, ValidationError

from app.identity.rules import EMAIL, PHONE, IdentityRules
from app.ingest.messages import FieldError, MessageErrors, field_path
from app.segments import values as v
from app.segments.models import (TAGS, And, EventCondition, Filter, IdentifierCondition, Not, Or,
                                 ProfileCondition, PropertyCondition, SegmentCondition, TraitCondition, depth,
                                 walk)

# Trait and event property names that may be used without being registered: dotted segments of
# plain characters. Names travel as query parameters either way; this keeps them readable and
# expressible in the text form (traits.address.city).
NAME_PATTERN = re.compile(r"[A-Za-z0-9_$@\-]+(?:\.[A-Za-z0-9_$@\-]+)*")
MAX_DEPTH = 8
MAX_NODES = 200
MAX_LIST = 1000
MAX_STRING = 1000
_ISO_HINT = "an ISO date such as '2026-01-31'"

_ADAPTER: TypeAdapter[Filter] = TypeAdapter(Filter)
_VALUELESS = {"exists", "not_exists"}
_STRING_OPS = {"contains", "starts_with", "ends_with"}
_LIST_OPS = {"in", "not_in"}
_ORDER_OPS = {"gt", "gte", "lt", "lte", "between"}
# Kind forced by the field, where the field is not free-form (None: decided by the value).
_PROFILE_KINDS = {"firstSeen": v.DATE, "lastSeen": v.DATE, "sources": v.STRING, "eventCount": v.NUMBER}


def _clean_loc(loc: tuple) -> tuple:
    """Drop the discriminator tags pydantic puts in error locations ('and', 'trait', …)."""
    return tuple(p for p in loc if not (isinstance(p, str) and p in TAGS))


def parse_tree(raw: Any, field: str = "definition") -> Filter:
    try:
        return _ADAPTER.validate_python(raw)
    except ValidationError as exc:
        raise MessageErrors([FieldError(field_path(field, *_clean_loc(tuple(e["loc"]))), e["msg"])
                             for e in exc.errors()[:20]]) from None


def forced_kind(node: Any) -> str | None:
    if isinstance(node, IdentifierCondition):
        return v.STRING
    if isinstance(node, ProfileCondition):
        return _PROFILE_KINDS[node.field]
    return None


def comparison_kind(op: str, value: Any, forced: str | None) -> str | None:
    """The kind (string, number, boolean, date) a valid condition compares as."""
    if op in _VALUELESS:
        return None
    if op == "within_last":
        return v.DATE
    if op in _STRING_OPS:
        return v.STRING
    first = value[0] if op in _LIST_OPS | {"between"} else value
    return forced or v.scalar_kind(first)


def _value_problem(op: str, value: Any, forced: str | None) -> str | None:
    if op in _VALUELESS:
        return None if value is None else f"{op} takes no value"
    if op == "within_last":
        if forced not in (None, v.DATE):
            return f"within_last applies to dates, not {forced} fields"
        ok = isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 36_500
        return None if ok else "within_last takes a number of days from 1 to 36500"
    if op in _LIST_OPS or op == "between":
        size = (1, MAX_LIST) if op in _LIST_OPS else (2, 2)
        if not isinstance(value, list) or not size[0] <= len(value) <= size[1]:
            want = f"a list of 1 to {MAX_LIST} values" if op in _LIST_OPS else "two values [low, high]"
            return f"{op} takes {want}"
        items = value
    else:
        items = [value]
    kinds = set()
    for item in items:
        kind = v.scalar_kind(item)
        if kind is None:
            return "values must be strings, finite numbers (64-bit integers) or booleans"
        if isinstance(item, str) and len(item) > MAX_STRING:
            return f"strings may be at most {MAX_STRING} characters"
        if forced == v.STRING and kind == v.DATE:
            kind = v.STRING  # identifiers and sources are plain strings, whatever they look like
        kinds.add(kind)
    if len(kinds) > 1:
        return "all values must be of one kind (strings, numbers, booleans or ISO dates)"
    kind = kinds.pop()
    if op in _STRING_OPS:
        if forced not in (None, v.STRING):
            return f"{op} does not apply to {forced} fields"
        return None if isinstance(value, str) else f"{op} takes a string"
    if forced and kind != forced:
        return f"this field compares as {forced}" + (f" ({_ISO_HINT})" if forced == v.DATE else "")
    if kind == v.BOOLEAN and op in _ORDER_OPS:
        return f"{op} does not apply to booleans"
    return None


def _condition(node: Any, path: str, errors: list[FieldError], known_traits: set[str]) -> None:
    forced = forced_kind(node)
    named = isinstance(node, (TraitCondition, PropertyCondition))
    unusual = named and not NAME_PATTERN.fullmatch(node.name)
    if isinstance(node, TraitCondition) and unusual and node.name not in known_traits:
        errors.append(FieldError(f"{path}.name", "unknown trait: names outside the plain dotted pattern "
                                                 "must be a trait that has been seen"))
    if isinstance(node, PropertyCondition) and unusual:
        errors.append(FieldError(f"{path}.name", "event property names are dotted segments of letters, "
                                                 "digits and _ $ @ -"))
    if isinstance(node, IdentifierCondition) and node.op == "within_last":
        errors.append(FieldError(f"{path}.op", "within_last does not apply to identifiers"))
        return
    problem = _value_problem(node.op, node.value, forced)
    if problem:
        errors.append(FieldError(f"{path}.value", problem))


def _event(node: EventCondition, path: str, errors: list[FieldError], known_traits: set[str]) -> None:
    for n, cond in enumerate(node.where):
        _condition(cond, f"{path}.where[{n}]", errors, known_traits)
    w = node.window
    if w is None:
        return
    if w.days is not None and (w.start is not None or w.end is not None):
        errors.append(FieldError(f"{path}.window", "give either days or start and end, not both"))
    elif w.days is None:
        for name in ("start", "end"):
            if not v.is_iso_date(getattr(w, name)):
                errors.append(FieldError(f"{path}.window.{name}", f"{_ISO_HINT} is required"))


def check(tree: Filter, field: str = "definition", known_traits: set[str] = frozenset()) -> None:
    """Raise MessageErrors listing every problem of the tree (paths under `field`)."""
    errors: list[FieldError] = []
    if depth(tree) > MAX_DEPTH:
        errors.append(FieldError(field, f"nested deeper than {MAX_DEPTH} levels"))
    if sum(1 for _ in walk(tree)) > MAX_NODES:
        errors.append(FieldError(field, f"more than {MAX_NODES} filters"))
    if not errors:
        _visit(tree, field, errors, known_traits)
    if errors:
        raise MessageErrors(errors[:50])


def _visit(node: Filter, path: str, errors: list[FieldError], known_traits: set[str]) -> None:
    if isinstance(node, (And, Or)):
        for n, child in enumerate(node.filters):
            _visit(child, f"{path}.filters[{n}]", errors, known_traits)
    elif isinstance(node, Not):
        _visit(node.filter, f"{path}.filter", errors, known_traits)
    elif isinstance(node, EventCondition):
        _event(node, path, errors, known_traits)
    elif not isinstance(node, SegmentCondition):
        _condition(node, path, errors, known_traits)


def unusual_trait_names(tree: Filter) -> set[str]:
    """Trait names outside the plain pattern: allowed only when registered (TraitKey)."""
    return {n.name for n in walk(tree)
            if isinstance(n, TraitCondition) and not NAME_PATTERN.fullmatch(n.name)}


# Equality values get the identity rules' full normalisation (what ingest stores); other operators
# take partial values, so only what cannot change their meaning: emails (and domains) are stored
# trimmed and lower-case, phones in E.164 (no spaces, dashes, dots or brackets); ids are as given.
_EXACT_OPS = {"eq", "neq", "in", "not_in"}
_PHONE_FORMATTING = re.compile(r"[\s\-.()]")


def _identifier_value(kind: str, op: str, raw: str, rules: IdentityRules) -> tuple[str | None, str]:
    """(the value as stored identifiers spell it, or None; why it is None)."""
    if kind == "email_domain":
        value = raw.strip().lower()
        return (value or None), "an email domain must not be blank"
    if op not in _EXACT_OPS:
        if kind in (EMAIL, PHONE):
            value = raw.strip().lower() if kind == EMAIL else _PHONE_FORMATTING.sub("", raw)
            if raw and not value:
                return None, "nothing is left once spaces and formatting are removed"
            return value, ""
        return raw, ""
    value = rules.normalise(kind, raw)
    if value is not None:
        return value, ""
    if not raw.strip():
        return None, f"a {kind} must not be blank"
    if rules.is_blocked(raw) or raw.strip().lower() in rules.blocked_emails:
        return None, f"{raw!r} is a blocked {kind} value, which ingest never stores"
    if kind == PHONE:
        return None, (f"{raw!r} is not a valid phone number (numbers without + are read as "
                      f"{rules.phone_region} numbers)")
    return None, f"{raw!r} is not a valid email address"


def normalise_identifiers(tree: Filter, rules: IdentityRules, field: str = "definition") -> Filter:
    """The checked tree with identifier condition values normalised as ingest normalises
    identifiers ('Ann@Example.org' -> 'ann@example.org', '(415) 555-0100' -> '+14155550100'), so
    they can match; a value that could never match is an error naming its path."""
    errors: list[FieldError] = []

    def value(node: IdentifierCondition, path: str) -> Any:
        def one(raw: str, where: str) -> str:
            out, why = _identifier_value(node.kind, node.op, raw, rules)
            if out is None:
                errors.append(FieldError(where, why))
            return raw if out is None else out

        if isinstance(node.value, list):
            return [one(x, f"{path}.value[{n}]") for n, x in enumerate(node.value)]
        return one(node.value, f"{path}.value")

    def visit(node: Filter, path: str) -> Filter:
        if isinstance(node, (And, Or)):
            return node.model_copy(update={"filters": [visit(c, f"{path}.filters[{n}]")
                                                       for n, c in enumerate(node.filters)]})
        if isinstance(node, Not):
            return node.model_copy(update={"filter": visit(node.filter, f"{path}.filter")})
        if isinstance(node, IdentifierCondition) and node.op not in _VALUELESS:
            return node.model_copy(update={"value": value(node, path)})
        return node

    out = visit(tree, field)
    if errors:
        raise MessageErrors(errors[:50])
    return out
