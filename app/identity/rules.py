"""Identity rules: which identifiers a message carries, normalised, with blocked values dropped."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import phonenumbers

from app.settings import IdentifierRule, Settings

USER_ID = "user_id"
ANONYMOUS_ID = "anonymous_id"
EMAIL = "email"
PHONE = "phone"
IDENTIFIER_TYPES = (USER_ID, ANONYMOUS_ID, EMAIL, PHONE)

_ZERO_UUID = re.compile(r"^[0\-]+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True, slots=True)
class Identifier:
    type: str
    value: str
    # 'type:value', the graph's key for it: built once, as planning and writing read it many times.
    key: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", f"{self.type}:{self.value}")


@dataclass(frozen=True, slots=True)
class Dropped:
    """A candidate identifier that was not used, and why."""

    field: str
    reason: str


class IdentityRules:
    def __init__(self, settings: Settings):
        self.rules: dict[str, IdentifierRule] = dict(settings.identity_rules)
        for t in IDENTIFIER_TYPES:
            if t not in self.rules:
                raise ValueError(f"identity_rules lacks a rule for {t}")
        self.blocked_values = {v.strip().lower() for v in settings.blocked_values}
        self.blocked_emails = {v.strip().lower() for v in settings.blocked_emails}
        self.phone_region = settings.default_phone_region

    def priority(self, id_type: str) -> int:
        return self.rules[id_type].priority

    def limit(self, id_type: str) -> int | None:
        return self.rules[id_type].limit

    def is_blocked(self, raw: str) -> bool:
        v = raw.strip().lower()
        return v in self.blocked_values or bool(_ZERO_UUID.match(v))

    def normalise(self, id_type: str, raw: object) -> str | None:
        """The canonical value, or None when the value is unusable or blocked."""
        if raw is None or isinstance(raw, (dict, list, bool)):
            return None
        value = str(raw).strip()
        if self.is_blocked(value):
            return None
        if id_type == EMAIL:
            value = value.lower()
            if not _EMAIL.match(value) or value in self.blocked_emails:
                return None
            return value
        if id_type == PHONE:
            return self._phone(value)
        return value

    def _phone(self, value: str) -> str | None:
        try:
            parsed = phonenumbers.parse(value, None if value.startswith("+") else self.phone_region)
        except phonenumbers.NumberParseException:
            return None
        # Validity, not just length: '1234567890' and '000-000-0000' are what people type to get
        # past a form, and joining on them would fuse strangers.
        if not phonenumbers.is_valid_number(parsed):
            return None
        national = str(parsed.national_number)
        if len(set(national)) == 1 or self.is_blocked(national):
            return None
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)

    def ordered(self, identifiers: list[Identifier]) -> list[Identifier]:
        """Distinct identifiers, strongest first; ties broken by key so the order is stable."""
        unique = {i.key: i for i in identifiers}
        return sorted(unique.values(), key=lambda i: (self.priority(i.type), i.key))


# Where identifiers are read from, in order: (identifier type, the object holding the field (a path
# from the message; () is the message itself), the field).
CANDIDATE_FIELDS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (USER_ID, (), "userId"),
    (ANONYMOUS_ID, (), "anonymousId"),
    (EMAIL, ("traits",), "email"),
    (EMAIL, ("context", "traits"), "email"),
    (EMAIL, ("properties",), "email"),
    (PHONE, ("traits",), "phone"),
    (PHONE, ("context", "traits"), "phone"),
    (PHONE, ("properties",), "phone"),
)
_HOLDERS = tuple(dict.fromkeys(holder for _, holder, _ in CANDIDATE_FIELDS))


def _object_at(message: dict, path: tuple[str, ...]) -> dict | None:
    """The object at `path` in the message; None when a step is missing or not an object."""
    obj: object = message
    for part in path:
        obj = obj.get(part)
        if not isinstance(obj, dict):
            return None
    return obj


def extract_identifiers(rules: IdentityRules, message: dict) -> tuple[list[Identifier], list[Dropped]]:
    """Identifiers carried by a message (alias previousId is handled by the resolver)."""
    found: list[Identifier] = []
    dropped: list[Dropped] = []
    holders = {path: _object_at(message, path) for path in _HOLDERS}  # each looked up once
    if message.get("type") == "group":
        # A group call's traits describe the account (its billing email, its switchboard), not the
        # person sending it: as identifiers they would join everyone in the company.
        holders[("traits",)] = None
    for id_type, path, name in CANDIDATE_FIELDS:
        holder = holders[path]
        raw = None if holder is None else holder.get(name)
        if raw is None:
            continue
        value = rules.normalise(id_type, raw)
        if value is None:
            dropped.append(Dropped(".".join((*path, name)), f"{id_type} value is blocked or malformed"))
        else:
            found.append(Identifier(id_type, value))
    return found, dropped
