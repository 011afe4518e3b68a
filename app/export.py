"""Bulk export: the way out to a warehouse or a file. Events in event-time order and live profiles'
documents, page by page, each page one read transaction; the API and `cdp export` share it.

Pages are consistent, the whole export is not a snapshot: an event stored during an export appears
if its time is after the cursor, and a profile merged away after its page was read appears under
its survivor only if the survivor's id is still ahead.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from neo4j import READ_ACCESS, Driver, ManagedTransaction, RoutingControl

from app.db import query
from app.events import event_document
from app.ingest.messages import FieldError
from app.profiles import search, timeline
from app.profiles.document import read_documents

EVENTS_MAX_LIMIT = 5000
EVENTS_DEFAULT_LIMIT = 1000
PROFILES_MAX_LIMIT = 500
PROFILES_DEFAULT_LIMIT = 100
_EVENTS_CURSOR = 2  # timeline cursors are version 1: the two orders differ, neither takes the other's
_PROFILES_CURSOR = "x"  # search cursors are "p"


@dataclass(frozen=True, slots=True)
class EventExport:
    """Validated arguments of the event export: [since, until) in epoch ms, after (ts, messageId)."""

    limit: int
    start: int
    until: int
    after_ts: int | None
    after_id: str | None
    types: list[str] | None
    source: str | None

    def filters(self) -> dict:
        """The window and filters, whatever the cursor (the count's parameters)."""
        return {"from": self.start, "until": self.until, "types": self.types, "source": self.source}

    def page_params(self) -> dict:
        resumed = self.after_ts is not None and self.after_ts >= self.start
        return {**self.filters(), "from": self.after_ts if resumed else self.start,
                "afterId": self.after_id if resumed else None, "limit": self.limit + 1}

    def after(self, cursor: str) -> EventExport:
        after_ts, after_id = timeline.decode_cursor(cursor, _EVENTS_CURSOR)
        return replace(self, after_ts=after_ts, after_id=after_id)


def event_export(*, limit: int = EVENTS_DEFAULT_LIMIT, cursor: str | None = None,
                 types: Iterable[str] | str | None = None, source: str | None = None,
                 since: str | datetime | None = None, until: str | datetime | None = None) -> EventExport:
    """Check every argument (FieldError, 400, naming it) before anything touches the graph."""
    timeline.check_limit(limit, EVENTS_MAX_LIMIT)
    type_list = timeline.parse_types(types)
    source = timeline.text_filter("source", source)
    since_ms, until_ms = timeline.parse_time("since", since), timeline.parse_time("until", until)
    if since_ms is not None and until_ms is not None and since_ms >= until_ms:
        raise FieldError("since", "must be before until")
    after_ts = after_id = None
    if cursor is not None:
        after_ts, after_id = timeline.decode_cursor(cursor, _EVENTS_CURSOR)
    return EventExport(limit, timeline.MIN_TS if since_ms is None else since_ms,
                       timeline.MAX_TS if until_ms is None else until_ms,
                       after_ts, after_id, type_list, source)


def events_page(driver: Driver, database: str, q: EventExport) -> dict:
    """{"events": [the stored event as GET /v1/events shows it, with its current profileId], "next"}."""
    records, _, _ = driver.execute_query(query("export/events_page"), **q.page_params(),
                                         database_=database, routing_=RoutingControl.READ)
    rows = sorted(records[0]["rows"], key=lambda r: (r["event"]["ts"], r["event"]["messageId"]))
    page, more = rows[:q.limit], len(rows) > q.limit
    events = [{**event_document(r["event"]), "profileId": r["profileId"]} for r in page]
    last = page[-1]["event"] if more else None
    return {"events": events,
            "next": timeline.encode_cursor(last["ts"], last["messageId"], _EVENTS_CURSOR) if more else None}


def count_events(driver: Driver, database: str, q: EventExport) -> int:
    records, _, _ = driver.execute_query(query("export/count_events"), **q.filters(), database_=database, routing_=RoutingControl.READ)
    return records[0]["n"]


@dataclass(frozen=True, slots=True)
class ProfileExport:
    """Validated arguments of the profile export: live profiles after `after_id`, seen since."""

    limit: int
    after_id: str
    seen_since: int | None

    def after(self, cursor: str) -> ProfileExport:
        return replace(self, after_id=search.decode_cursor(cursor, _PROFILES_CURSOR))


def profile_export(*, limit: int = PROFILES_DEFAULT_LIMIT, cursor: str | None = None,
                   seen_since: str | datetime | None = None) -> ProfileExport:
    timeline.check_limit(limit, PROFILES_MAX_LIMIT)
    since = timeline.parse_time("seenSince", seen_since)
    after = search.decode_cursor(cursor, _PROFILES_CURSOR) if cursor is not None else ""
    return ProfileExport(limit, after, since)


def _profiles_page(tx: ManagedTransaction, q: ProfileExport) -> tuple[list[dict], bool]:
    ids = [r["id"] for r in tx.run(query("export/profile_ids_page"), afterId=q.after_id,
                                   seenSince=q.seen_since, limit=q.limit + 1)]
    return read_documents(tx, ids[:q.limit]), len(ids) > q.limit


def profiles_page(driver: Driver, database: str, q: ProfileExport) -> dict:
    """{"profiles": [the document GET /v1/profiles/{id} answers], "next"}, live profiles by id."""
    with driver.session(database=database, default_access_mode=READ_ACCESS) as session:
        docs, more = session.execute_read(_profiles_page, q)
    return {"profiles": docs,
            "next": search.encode_cursor(docs[-1]["id"], _PROFILES_CURSOR) if more and docs else None}


def count_profiles(driver: Driver, database: str, q: ProfileExport) -> int:
    records, _, _ = driver.execute_query(query("export/count_profiles"), seenSince=q.seen_since,
                                         database_=database, routing_=RoutingControl.READ)
    return records[0]["n"]


def all_pages(read_page: Callable[[Any], dict], q: EventExport | ProfileExport, items: str) -> Iterator[list[dict]]:
    """Every page of an export from `q` on: `read_page(q)` answers {items: [...], "next"}."""
    while True:
        page = read_page(q)
        yield page[items]
        if page["next"] is None:
            return
        q = q.after(page["next"])
