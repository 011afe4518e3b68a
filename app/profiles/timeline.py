"""A profile's timeline across sources: newest first, cursor-paginated, filterable.

Order is (ts, messageId) descending, a total order, so a cursor holding the last row's pair
resumes exactly after it even when many events share a timestamp: no duplicates, no gaps.
"""
from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import orjson
from neo4j import Driver, RoutingControl

from app.db import INT64_MAX, INT64_MIN, query
from app.events import event_document
from app.ingest.messages import FieldError, to_utc
from app.ingest.timestamps import epoch_ms

MAX_LIMIT = 500
DEFAULT_LIMIT = 50
EVENT_TYPES = ("identify", "track", "page", "screen", "group", "alias")
_CURSOR_VERSION = 1
MIN_TS, MAX_TS = INT64_MIN, INT64_MAX  # "no bound" without a null in the range


def encode_cursor(ts: int, message_id: str, version: int = _CURSOR_VERSION) -> str:
    """A cursor after the event (ts, messageId); `version` names the listing that issued it."""
    raw = orjson.dumps([version, ts, message_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, version: int = _CURSOR_VERSION) -> tuple[int, str]:
    """(ts, messageId) of the last event served; FieldError (400) for anything we did not issue."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        found, ts, message_id = orjson.loads(raw)
    except (binascii.Error, ValueError, TypeError, orjson.JSONDecodeError):
        raise FieldError("cursor", "not a cursor returned by this endpoint") from None
    if found != version or type(ts) is not int or not isinstance(message_id, str):
        raise FieldError("cursor", "not a cursor returned by this endpoint")
    return ts, message_id


def check_limit(limit: int, maximum: int = MAX_LIMIT) -> int:
    if type(limit) is not int or not 1 <= limit <= maximum:
        raise FieldError("limit", f"must be an integer from 1 to {maximum}")
    return limit


def parse_time(field: str, value: str | datetime | None) -> int | None:
    """ISO 8601 (naive = UTC) or a datetime -> epoch ms, as events' ts are stored."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise FieldError(field, f"{value!r} is not an ISO 8601 date or time") from None
    try:
        return epoch_ms(to_utc(value))
    except (OverflowError, ValueError):
        raise FieldError(field, "is out of range") from None


def parse_types(types: Iterable[str] | str | None) -> list[str] | None:
    """`type` given repeatedly and/or as a comma list -> the distinct known types, or None for all."""
    if types is None:
        return None
    items = [types] if isinstance(types, str) else list(types)
    out = sorted({t.strip() for item in items for t in item.split(",") if t.strip()})
    unknown = [t for t in out if t not in EVENT_TYPES]
    if unknown:
        raise FieldError("type", f"unknown event type {unknown[0]!r}; expected one of " + ", ".join(EVENT_TYPES))
    return out or None


def text_filter(field: str, value: str | None) -> str | None:
    if value is None:
        return None
    if not value.strip():
        raise FieldError(field, "must not be empty")
    return value


@dataclass(frozen=True, slots=True)
class TimelineQuery:
    """Validated timeline arguments, as the page query takes them."""

    limit: int
    since: int
    before: int
    after_id: str | None
    types: list[str] | None
    event: str | None
    source: str | None


def timeline_query(*, limit: int = DEFAULT_LIMIT, cursor: str | None = None,
                   types: Iterable[str] | str | None = None, event: str | None = None, source: str | None = None,
                   since: str | datetime | None = None, until: str | datetime | None = None) -> TimelineQuery:
    """Check every argument (FieldError, 400, naming it) before anything touches the graph."""
    check_limit(limit)
    type_list = parse_types(types)
    event, source = text_filter("event", event), text_filter("source", source)
    since_ms, until_ms = parse_time("since", since), parse_time("until", until)
    if since_ms is not None and until_ms is not None and since_ms > until_ms:
        raise FieldError("since", "must not be after until")
    before = MAX_TS if until_ms is None else until_ms
    after_id = None
    if cursor is not None:
        cursor_ts, after_id = decode_cursor(cursor)
        if cursor_ts < before:
            before = cursor_ts
        elif cursor_ts > before:
            after_id = None  # `until` is tighter than the cursor: every event up to it is still due
    return TimelineQuery(limit, MIN_TS if since_ms is None else since_ms, before, after_id, type_list, event, source)


def read_timeline(driver: Driver, database: str, profile_id: str, q: TimelineQuery) -> dict:
    # Event names and types have their own (identifier, …, ts) indexes, so a rare one reads no more
    # than a page per identifier; sources are few and coarse, so they filter the ts-ordered read.
    if q.event is not None:
        name = "profiles/timeline_page_event"
    elif q.types is not None:
        name = "profiles/timeline_page_types"
    else:
        name = "profiles/timeline_page"
    records, _, _ = driver.execute_query(
        query(name), id=profile_id, limit=q.limit + 1,  # one extra: is there a next page?
        since=q.since, before=q.before, afterId=q.after_id, types=q.types, event=q.event, source=q.source,
        database_=database, routing_=RoutingControl.READ)
    rows = [r["event"] for r in records]
    page, more = rows[:q.limit], len(rows) > q.limit
    return {"events": [event_document(dict(props)) for props in page],
            "next": encode_cursor(page[-1]["ts"], page[-1]["messageId"]) if more else None}


def timeline(driver: Driver, database: str, profile_id: str, *, limit: int = DEFAULT_LIMIT,
             cursor: str | None = None, types: Iterable[str] | str | None = None, event: str | None = None,
             source: str | None = None, since: str | datetime | None = None,
             until: str | datetime | None = None) -> dict:
    """{"events": [...], "next": cursor or None} for a (live) profile id; bad arguments -> FieldError."""
    q = timeline_query(limit=limit, cursor=cursor, types=types, event=event, source=source, since=since, until=until)
    return read_timeline(driver, database, profile_id, q)
