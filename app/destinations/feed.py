"""What a sync reads from the segments side: members, the entry/exit feed and its head, and the
profile data a mapping needs. Every graph read of segment state goes through here."""

from __future__ import annotations

from dataclasses import dataclass

from neo4j import Driver

from app.db import query
from app.segments.membership import changes_since


@dataclass(frozen=True, slots=True)
class Change:
    seq: int
    profile: str
    entered: bool


class SegmentFeed:
    def __init__(self, driver: Driver, database: str):
        self.driver = driver
        self.database = database

    def _read(self, name: str, **params) -> list:
        records, _, _ = self.driver.execute_query(
            query(f"destinations/{name}"), params, database_=self.database, routing_="r"
        )
        return records

    def exists(self, segment_id: str) -> bool:
        return bool(self._read("segment_exists", segment=segment_id))

    def head(self, segment_id: str) -> int:
        rows = self._read("segment_head", segment=segment_id)
        return int(rows[0]["head"]) if rows else 0

    def members_after(self, segment_id: str, after: str, limit: int) -> list[str]:
        return [
            r["id"] for r in self._read("segment_members_page", segment=segment_id, after=after, limit=limit)
        ]

    def changes(self, segment_id: str, after: int, head: int, limit: int) -> list[Change]:
        """The segments feed (app.segments.membership.changes_since), cut at the run's head."""
        page = changes_since(self.driver, self.database, segment_id, after, limit)["changes"]
        return [Change(c["seq"], c["profileId"], c["kind"] == "enter") for c in page if c["seq"] <= head]

    def lost_since(self, segment_id: str, after: int) -> bool:
        """Whether retention pruned entries after `after` (the feed numbers without gaps, so a first
        seq above after + 1 means some were dropped): a diff from there would miss changes."""
        page = changes_since(self.driver, self.database, segment_id, after, 1)["changes"]
        return bool(page) and page[0]["seq"] > after + 1

    def members_among(self, segment_id: str, ids: list[str]) -> set[str]:
        return {r["id"] for r in self._read("members_among", segment=segment_id, ids=ids)}

    def rows(self, segment_id: str, ids: list[str]) -> dict[str, dict]:
        """requested id -> {id (live), traits, identifiers: {type: [values newest first]}, member, ...}.
        Profiles that no longer exist (erased) are absent."""
        out: dict[str, dict] = {}
        for r in self._read("member_rows", segment=segment_id, ids=ids):
            identifiers: dict[str, list[str]] = {}
            for id_type, value in r["identifiers"]:
                identifiers.setdefault(id_type, []).append(value)
            out[r["requested"]] = {
                "id": r["id"],
                "firstSeen": r["firstSeen"],
                "lastSeen": r["lastSeen"],
                "eventCount": r["eventCount"],
                "traits": dict(r["traits"]),
                "identifiers": identifiers,
                "member": r["member"],
            }
        return out


def net_changes(changes: list[Change]) -> tuple[list[str], list[str]]:
    """(entered, exited) profile ids by each profile's latest change in the page: an entry followed by
    an exit sends one remove, not an add and a remove."""
    latest: dict[str, bool] = {}
    for c in changes:
        latest[c.profile] = c.entered
    return [p for p, e in latest.items() if e], [p for p, e in latest.items() if not e]
