"""Field mapping: destination field <- the first non-empty of a list of profile sources.

Sources: `traits.<name>` (dotted names of nested traits), `identifiers.<type>` (the newest
identifier of that type), `profile.<field>`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

import orjson

PROFILE_FIELDS = ("id", "firstSeen", "lastSeen", "eventCount")
IDENTIFIER_FIELDS = ("email", "phone", "user_id", "anonymous_id")

_NAME = "traits.firstName", "traits.first_name"
_LAST = "traits.lastName", "traits.last_name"
DEFAULTS: dict[str, dict[str, list[str]]] = {
    "resend": {"email": ["identifiers.email"], "first_name": [*_NAME], "last_name": [*_LAST]},
    "hubspot": {
        "email": ["identifiers.email"],
        "firstname": [*_NAME],
        "lastname": [*_LAST],
        "phone": ["identifiers.phone", "traits.phone"],
    },
    "facebook": {"email": ["identifiers.email"], "phone": ["identifiers.phone"]},
    "webhook": {
        "email": ["identifiers.email"],
        "phone": ["identifiers.phone"],
        "userId": ["identifiers.user_id"],
        "firstName": [*_NAME],
        "lastName": [*_LAST],
    },
}
_FIXED_FIELDS = {"resend": {"email", "first_name", "last_name"}, "facebook": {"email", "phone"}}
_FIELD_NAME = {
    "hubspot": re.compile(r"^[a-z][a-z0-9_]{0,99}$"),
    "webhook": re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,99}$"),
}
_TRAIT = re.compile(r"^traits\.[^\s]{1,200}$")
MAX_SOURCES = 5


def _check_source(source: Any) -> None:
    if not isinstance(source, str):
        raise ValueError("must be a source string or a list of them")
    kind, _, rest = source.partition(".")
    if kind == "traits" and _TRAIT.match(source):
        return
    if kind == "identifiers" and rest in IDENTIFIER_FIELDS:
        return
    if kind == "profile" and rest in PROFILE_FIELDS:
        return
    raise ValueError(
        f"unknown source {source!r}; use traits.<name>, identifiers.<{'|'.join(IDENTIFIER_FIELDS)}> "
        f"or profile.<{'|'.join(PROFILE_FIELDS)}>"
    )


def validate_mapping(dest_type: str, mapping: dict | None) -> dict[str, list[str]]:
    """Defaults of the type, overridden field by field; an empty list drops a default field.
    ValueError('<field>: <reason>') on a bad entry."""
    merged = {k: list(v) for k, v in DEFAULTS[dest_type].items()}
    for name, sources in (mapping or {}).items():
        allowed = _FIXED_FIELDS.get(dest_type)
        if allowed is not None and name not in allowed:
            raise ValueError(f"{name}: {dest_type} accepts only {', '.join(sorted(allowed))}")
        if allowed is None and not _FIELD_NAME[dest_type].match(name):
            raise ValueError(f"{name}: not a valid {dest_type} field name")
        listed = [sources] if isinstance(sources, str) else sources
        if len(listed) > MAX_SOURCES:
            raise ValueError(f"{name}: at most {MAX_SOURCES} sources")
        for s in listed:
            try:
                _check_source(s)
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
        merged[name] = list(listed)
    merged = {k: v for k, v in merged.items() if v}
    if dest_type in ("resend", "hubspot") and "email" not in merged:
        raise ValueError(f"email: {dest_type} contacts are keyed by email; it cannot be unmapped")
    return merged


@dataclass(slots=True)
class Member:
    """One profile as a destination sees it: the mapped fields plus the keys used to address it."""

    profile_id: str
    fields: dict[str, Any] = field(default_factory=dict)
    erased: bool = False  # leaving because the person was erased (GDPR), not because they stopped matching

    @property
    def email(self) -> str | None:
        return self.fields.get("email")

    @property
    def phone(self) -> str | None:
        return self.fields.get("phone")

    def digest(self) -> str:
        """Identifies what was last sent, so an unchanged profile is not pushed again."""
        return hashlib.sha256(orjson.dumps(self.fields, option=orjson.OPT_SORT_KEYS)).hexdigest()[:24]


def _lookup(row: dict, source: str) -> Any:
    kind, _, rest = source.partition(".")
    if kind == "traits":
        return row["traits"].get(rest)
    if kind == "identifiers":
        values = row["identifiers"].get(rest) or []
        return values[0] if values else None
    return row.get(rest)


def apply_mapping(mapping: dict[str, list[str]], row: dict) -> Member:
    """row: {id, traits: {name: value}, identifiers: {type: [newest first]}, firstSeen, lastSeen,
    eventCount}."""
    fields: dict[str, Any] = {}
    for name, sources in mapping.items():
        for source in sources:
            value = _lookup(row, source)
            if value not in (None, ""):
                fields[name] = value
                break
    return Member(row["id"], fields, bool(row.get("erased")))
