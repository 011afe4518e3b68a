"""Profile search: by identifier prefix or by a whole identify-trait value, in any case.

`q` matches a live profile when
- one of its identifiers' values starts with q (also lower-cased, as emails are stored), or, when q
  contains ':', one of its identifier keys starts with q ('email:ann' - the email part lower-cased);
- or an identify event of the profile had a trait whose value is q, whole, in any case (a string, or the JSON
  literal of a number or boolean: '42', 'true'), at any depth of the traits object except inside
  arrays. Any value ever sent matches, not only the newest: as with an old email, finding the
  person by it is the point.
Results are ordered by profile id, so a cursor (the last id served) pages through them stably.
"""
from __future__ import annotations

import base64
import binascii

import orjson
from neo4j import READ_ACCESS, Driver, ManagedTransaction

from app.db import query
from app.identity.rules import EMAIL
from app.ingest.messages import FieldError
from app.ingest.timestamps import iso_ms
from app.profiles.timeline import check_limit

MAX_LIMIT = 100
DEFAULT_LIMIT = 20
MAX_QUERY_CHARS = 256


def encode_cursor(profile_id: str, tag: str = "p") -> str:
    """A cursor after `profile_id`; `tag` names the listing that issued it, which alone takes it back."""
    return base64.urlsafe_b64encode(orjson.dumps([tag, profile_id])).decode().rstrip("=")


def decode_cursor(cursor: str, tag: str = "p") -> str:
    try:
        found, profile_id = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, TypeError):
        raise FieldError("cursor", "not a cursor returned by this endpoint") from None
    if found != tag or not isinstance(profile_id, str):
        raise FieldError("cursor", "not a cursor returned by this endpoint")
    return profile_id


def identifier_prefixes(q: str) -> tuple[list[str], list[str]]:
    """(value prefixes, key prefixes) for q."""
    values = sorted({q, q.lower()})
    id_type, sep, rest = q.partition(":")
    keys: list[str] = []
    if sep:
        keys = sorted({q, f"{id_type}:{rest.lower()}"}) if id_type == EMAIL else [q]
    return values, keys


def trait_match(q: str) -> tuple[str | None, list[str]]:
    """(Lucene phrase, needles) for a whole trait value q (any case); no phrase when q has no word to index.

    The phrase is built from q's JSON encoding, the very characters stored in the traits string,
    so the index tokenises both alike; the needles then keep only values equal to q whole (lower-cased on both sides in the query).
    """
    encodings = [orjson.dumps(q).decode()]
    try:
        literal = orjson.loads(q)
    except orjson.JSONDecodeError:
        literal = None
    if isinstance(literal, (int, float)):  # numbers and booleans (bool is an int)
        encodings.append(orjson.dumps(literal).decode())
    needles = [f":{enc}{end}" for enc in encodings for end in (",", "}")]
    body = encodings[0][1:-1]
    if not any(ch.isalnum() for ch in body):
        return None, needles
    escaped = body.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"', needles


def _search(tx: ManagedTransaction, q: str, after: str | None, limit: int) -> tuple[list[str], bool, dict]:
    values, keys = identifier_prefixes(q)
    params = {"after": after, "limit": limit + 1}
    ids = {r["id"] for r in tx.run(query("profiles/search_identifiers"), valuePrefixes=values, keyPrefixes=keys,
                                   **params)}
    lucene, needles = trait_match(q)
    if lucene is not None:
        # Events still waiting for the index first: one the worker indexes meanwhile is then
        # found by the index query, never missed by both.
        for name in ("profiles/search_traits_pending", "profiles/search_traits"):
            ids |= {r["id"] for r in tx.run(query(name), lucene=lucene, needles=needles, **params)}
    # Each side gave its first limit+1 ids after the cursor, so the union's first limit+1 are exact.
    page_ids = sorted(ids)[:limit + 1]
    page, more = page_ids[:limit], len(page_ids) > limit
    rows = {r["id"]: dict(r) for r in tx.run(query("profiles/search_summaries"), ids=page)}
    return page, more, rows


def search_profiles(driver: Driver, database: str, q: str | None, *, limit: int = DEFAULT_LIMIT,
                    cursor: str | None = None) -> dict:
    """{"profiles": [{id, identifiers, firstSeen, lastSeen}], "next": cursor or None}."""
    q = (q or "").strip()
    if not q:
        raise FieldError("q", "must not be empty")
    if len(q) > MAX_QUERY_CHARS:
        raise FieldError("q", f"must be at most {MAX_QUERY_CHARS} characters")
    check_limit(limit, MAX_LIMIT)
    after = decode_cursor(cursor) if cursor is not None else None

    with driver.session(database=database, default_access_mode=READ_ACCESS) as session:
        page, more, rows = session.execute_read(_search, q, after, limit)
    profiles = [{"id": pid,
                 "identifiers": sorted(({"type": i["type"], "value": i["value"]} for i in rows[pid]["identifiers"]),
                                       key=lambda i: (i["type"], i["value"])),
                 "firstSeen": iso_ms(rows[pid]["firstSeen"]), "lastSeen": iso_ms(rows[pid]["lastSeen"])}
                for pid in page if pid in rows]
    return {"profiles": profiles, "next": encode_cursor(page[-1]) if more else None}
