"""Destinations and syncs in the graph: create, read, change, delete; secrets sealed, shown masked."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import orjson
from neo4j import Driver

from app.db import query
from app.destinations.feed import SegmentFeed
from app.destinations.models import (
    DestinationIn,
    DestinationPatch,
    SyncIn,
    SyncPatch,
    check_destination,
    check_mapping,
    parse_cron,
)
from app.destinations.secrets import SecretBox, masked
from app.errors import NotFound
from app.ingest.messages import FieldError
from app.ingest.timestamps import now_ms

_JSON_FIELDS = ("config", "rateLimit", "schedule", "mapping", "options")




def _decode(node: dict) -> dict:
    out = dict(node)
    for key in _JSON_FIELDS:
        if isinstance(out.get(key), str):
            out[key] = orjson.loads(out[key])
    return out


_SYNC_FIELDS = ("schedule", "nextRunAt", "cursor", "lastRunId", "lastRunStatus", "lastRunAt", "lastSuccessAt")


def _sync_doc(node: dict) -> dict:
    """A sync with every field present (the graph keeps no nulls) and no internal bookkeeping."""
    d = _decode(node)
    d.pop("runRequestedAt", None)
    return {**{k: None for k in _SYNC_FIELDS}, **d}


def _json(value) -> str:
    return orjson.dumps(value).decode()


def next_run_at(schedule: dict | None, after_ms: int) -> int | None:
    """The first scheduled time after `after_ms` (epoch ms, UTC), or None for a manual-only sync."""
    if not schedule:
        return None
    if schedule.get("intervalSeconds"):
        return after_ms + schedule["intervalSeconds"] * 1000
    cron = parse_cron(schedule["cron"])
    after = datetime.fromtimestamp(after_ms / 1000, tz=UTC)
    return after_ms + max(1000, int(cron.remaining_estimate(after).total_seconds() * 1000))


class DestinationStore:
    def __init__(self, driver: Driver, database: str, box: SecretBox):
        self.driver = driver
        self.database = database
        self.box = box

    def _run(self, name: str, **params) -> list:
        records, _, _ = self.driver.execute_query(
            query(f"destinations/{name}"), params, database_=self.database
        )
        return records

    # --- destinations ---
    def public(self, node: dict) -> dict:
        """A destination as the API shows it: secrets masked, never the sealed blob."""
        d = _decode(node)
        d.pop("lockedAt", None)  # bookkeeping: creating a sync write-locks its destination
        sealed = d.pop("sealedSecrets", None)
        d["secrets"] = masked(self.box.open(sealed))
        return d

    def create_destination(self, body: DestinationIn) -> dict:
        check_destination(body.type, body.config, body.secrets)
        now = now_ms()
        props = {
            "id": str(uuid.uuid4()),
            "name": body.name,
            "type": body.type,
            "config": _json(body.config),
            "sealedSecrets": self.box.seal(body.secrets),
            "createdAt": now,
            "updatedAt": now,
            "rateLimit": _json(body.rate_limit.model_dump(by_alias=True) if body.rate_limit else None),
        }
        return self.public(self._run("create_destination", props=props)[0]["d"])

    def destination(self, dest_id: str) -> dict:
        """The stored destination (decoded, secrets still sealed); NotFound when absent."""
        rows = self._run("get_destination", id=dest_id)
        if not rows:
            raise NotFound("id", f"no destination {dest_id!r}")
        return _decode(rows[0]["d"])

    def secrets(self, dest: dict) -> dict[str, str]:
        return self.box.open(dest.get("sealedSecrets"))

    def list_destinations(self, limit: int) -> list[dict]:
        return [self.public(r["d"]) for r in self._run("list_destinations", limit=limit)]

    def update_destination(self, dest_id: str, patch: DestinationPatch) -> dict:
        current = self.destination(dest_id)
        config = patch.config if patch.config is not None else current["config"]
        secrets = {**self.secrets(current), **(patch.secrets or {})}
        check_destination(current["type"], config, secrets)
        props = {"config": _json(config), "sealedSecrets": self.box.seal(secrets), "updatedAt": now_ms()}
        if patch.name is not None:
            props["name"] = patch.name
        if patch.rate_limit is not None:
            props["rateLimit"] = _json(patch.rate_limit.model_dump(by_alias=True))
        return self.public(self._run("update_destination", id=dest_id, props=props)[0]["d"])

    def delete_destination(self, dest_id: str) -> None:
        rows = self._run("delete_destination", id=dest_id)
        if not rows:
            raise NotFound("id", f"no destination {dest_id!r}")
        if rows[0]["syncs"]:
            raise FieldError(
                "id", f"{rows[0]['syncs']} sync(s) still send to this destination; delete them first", 409
            )

    # --- syncs ---
    def create_sync(self, body: SyncIn, feed: SegmentFeed) -> dict:
        try:
            dest = self.destination(body.destination_id)
        except NotFound:
            raise FieldError("destinationId", f"no destination {body.destination_id!r}") from None
        if not feed.exists(body.segment_id):
            raise FieldError("segmentId", f"no segment {body.segment_id!r}")
        mapping = check_mapping(dest["type"], body.mapping)
        now = now_ms()
        schedule = body.schedule.model_dump(by_alias=True, exclude_none=True) if body.schedule else None
        props = {
            "id": str(uuid.uuid4()),
            "segmentId": body.segment_id,
            "destinationId": body.destination_id,
            "destinationType": dest["type"],
            "schedule": _json(schedule),
            "mapping": _json(mapping),
            "options": _json(body.options.model_dump(by_alias=True)),
            "enabled": body.enabled,
            "pushTraitChanges": body.options.push_trait_changes,
            "createdAt": now,
            "updatedAt": now,
            "nextRunAt": next_run_at(schedule, now) if body.enabled else None,
        }
        rows = self._run("create_sync", props=props)
        if not rows:  # deleted since the checks above
            raise FieldError("segmentId" if not feed.exists(body.segment_id) else "destinationId",
                             "deleted while the sync was being created")
        return _sync_doc(rows[0]["s"])

    def sync(self, sync_id: str) -> dict:
        rows = self._run("get_sync", id=sync_id)
        if not rows:
            raise NotFound("id", f"no sync {sync_id!r}")
        return _sync_doc(rows[0]["s"])

    def list_syncs(self, limit: int) -> list[dict]:
        return [_sync_doc(r["s"]) for r in self._run("list_syncs", limit=limit)]

    def update_sync(self, sync_id: str, patch: SyncPatch) -> dict:
        current = self.sync(sync_id)
        now = now_ms()
        props: dict = {"updatedAt": now}
        schedule = current["schedule"]
        if patch.clear_schedule:
            schedule = None
        elif patch.schedule is not None:
            schedule = patch.schedule.model_dump(by_alias=True, exclude_none=True)
        props["schedule"] = _json(schedule)
        if patch.mapping is not None:
            props["mapping"] = _json(check_mapping(current["destinationType"], patch.mapping))
        if patch.options is not None:
            props["options"] = _json(patch.options.model_dump(by_alias=True))
            props["pushTraitChanges"] = patch.options.push_trait_changes
        enabled = current["enabled"] if patch.enabled is None else patch.enabled
        props["enabled"] = enabled
        props["nextRunAt"] = next_run_at(schedule, now) if enabled else None
        return _sync_doc(self._run("update_sync", id=sync_id, props=props)[0]["s"])

    def delete_sync(self, sync_id: str) -> None:
        if not self._run("delete_sync", id=sync_id):
            raise NotFound("id", f"no sync {sync_id!r}")

    def due_syncs(self, now: int, limit: int = 100) -> list[dict]:
        return [_sync_doc(r["s"]) for r in self._run("due_syncs", now=now, limit=limit)]

    def trait_push_syncs(self) -> list[dict]:
        return [_sync_doc(r["s"]) for r in self._run("trait_push_syncs")]

    def reschedule(self, sync: dict, now: int) -> None:
        self._run("update_sync", id=sync["id"], props={"nextRunAt": next_run_at(sync["schedule"], now)})
