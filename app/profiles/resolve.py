"""Profile references: a profile id (a retired one resolves to its survivor) or an external id
`user_id:…`, `anonymous_id:…`, `email:…`, `phone:…`, normalised as at ingest."""
from __future__ import annotations

import re

from neo4j import Driver

from app.db import query
from app.errors import NotFound
from app.identity.rules import IDENTIFIER_TYPES, IdentityRules
from app.ingest.messages import FieldError

_PROFILE_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def is_profile_id(text: str) -> bool:
    return _PROFILE_ID.match(text) is not None


def parse_ref(rules: IdentityRules, ref: str) -> tuple[str, str]:
    """('profile', id) or ('identifier', 'type:normalised'); FieldError (400) when malformed."""
    ref = ref.strip()
    if is_profile_id(ref):
        return "profile", ref
    id_type, sep, raw = ref.partition(":")
    if not sep:
        raise FieldError("ref", "expected a profile id or type:value with type one of " + ", ".join(IDENTIFIER_TYPES))
    if id_type not in IDENTIFIER_TYPES:
        raise FieldError("ref", f"unknown identifier type {id_type!r}; expected one of " + ", ".join(IDENTIFIER_TYPES))
    value = rules.normalise(id_type, raw)
    if value is None:
        raise FieldError("ref", f"{raw!r} is not a usable {id_type} (blocked or malformed)")
    return "identifier", f"{id_type}:{value}"


def resolve(driver: Driver, database: str, rules: IdentityRules, ref: str) -> str:
    """The live profile id for a reference; NotFound (404) naming the ref."""
    kind, value = parse_ref(rules, ref)
    if kind == "profile":
        records, _, _ = driver.execute_query(query("profiles/resolve_profile_id"), id=value, database_=database)
    else:
        records, _, _ = driver.execute_query(query("profiles/resolve_identifier"), key=value, database_=database)
    if not records or records[0]["id"] is None:
        raise NotFound("ref", f"no profile for {ref!r}")
    return records[0]["id"]
