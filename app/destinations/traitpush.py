"""Trait changes to destinations between runs.

Ingest's post-commit hook adds the profiles each committed batch touched to a Redis set (one SADD,
off the request's critical path in effect). A beat task fans that set out to every sync that pushes
trait changes, and per sync sends an update for the touched profiles that are members a run has
delivered and whose mapped fields differ from what was last sent (a digest per profile). Coalescing in a set means a
profile touched a thousand times between pushes costs one update, and pushes never race a run of
the same sync (both take the sync's lock)."""

from __future__ import annotations

import logging
import uuid

import redis

from app.destinations.engine import SyncEngine, digest_key, send
from app.destinations.mapping import apply_mapping
from app.destinations.ratelimit import SyncLock
from app.destinations.retry import Deferred, Permanent
from app.destinations.runs import BatchOutcome
from app.ingest.messages import FieldError
from app.ingest.retained import RetainedIds

log = logging.getLogger("cdp.sync")
TOUCHED_KEY = "cdp:traits:touched"


def pending_key(sync_id: str) -> str:
    return f"cdp:sync:{sync_id}:touched"


def touched_recorder(client: redis.Redis, retained: RetainedIds | None = None):
    """The GroupCommitWriter on_commit hook (`retained`: ids kept from failed calls)."""
    retained = retained if retained is not None else RetainedIds()

    def record_touched_profiles(result) -> None:
        ids = set(result.touched_profiles) | set(result.retired.values())
        retained.send(ids, lambda batch: client.sadd(TOUCHED_KEY, *batch))

    return record_touched_profiles


class TraitPusher:
    def __init__(self, engine: SyncEngine):
        self.engine = engine
        self.redis = engine.redis

    def fan_out(self, syncs: list[dict]) -> None:
        """Move the touched set into each pushing sync's own pending set (atomically renamed first,
        so profiles touched meanwhile wait for the next round rather than being lost)."""
        draining = f"{TOUCHED_KEY}:{uuid.uuid4().hex}"
        try:
            self.redis.rename(TOUCHED_KEY, draining)
        except redis.ResponseError:  # no such key: nothing was touched
            return
        pipe = self.redis.pipeline()
        for s in syncs:
            pipe.sunionstore(pending_key(s["id"]), [pending_key(s["id"]), draining])
        pipe.delete(draining)
        pipe.execute()

    def push_all(self) -> dict[str, int]:
        syncs = self.engine.store.trait_push_syncs()
        self.fan_out(syncs)
        return {s["id"]: self.push(s) for s in syncs}

    def push(self, sync: dict) -> int:
        """Updates sent for one sync (0 when nothing changed or a run holds the sync)."""
        size = self.engine.settings.sync_batch_size
        sent = 0
        while True:
            ids = [
                i.decode() if isinstance(i, bytes) else i
                for i in self.redis.spop(pending_key(sync["id"]), size) or []
            ]
            if not ids:
                return sent
            changed = self._changed(sync, ids)
            if not changed:
                continue
            try:
                sent += self._send(sync, changed)
            except _Busy:
                self.redis.sadd(pending_key(sync["id"]), *ids)
                return sent

    def _changed(self, sync: dict, ids: list[str]):
        members = sorted(self.engine.feed.members_among(sync["segmentId"], ids))
        if not members:
            return []
        rows = self.engine.feed.rows(sync["segmentId"], members)
        mapped = [apply_mapping(sync["mapping"], rows[p]) for p in members if p in rows and rows[p]["member"]]
        if not mapped:
            return []
        last = self.redis.hmget(digest_key(sync["id"]), [m.profile_id for m in mapped])
        # Only members a run has delivered (it left their digest): one that entered since the last
        # run, or whose add was refused, is the next run's to add, and an update sent before it could
        # reach a destination that is never told to remove the profile.
        return [m for m, d in zip(mapped, last) if d is not None and d.decode() != m.digest()]

    def _send(self, sync: dict, changed) -> int:
        engine = self.engine
        try:
            run = engine.runs.create(sync, "traits")
        except FieldError:  # a run of this sync is active; it takes the sync's lock, try next round
            raise _Busy() from None
        lock = SyncLock(self.redis, sync["id"], engine.settings.sync_lock_ttl_seconds)
        if not lock.acquire():
            engine.runs.finish(run["id"], "failed", ["sync busy"])
            raise _Busy()
        client = None
        try:
            dest = engine.store.destination(sync["destinationId"])
            engine.runs.start(run["id"], "update", sync.get("cursor"), sync.get("cursor") or 0)
            client = engine.client_for(sync, dest, run)
            out = BatchOutcome()
            addressable = [m for m in changed if client.addressable(m)]
            out.skipped = len(changed) - len(addressable)
            failed = send(client.update, addressable, client.max_batch)
            for m, error in failed:
                out.dead_letter(run, "update", m.profile_id, m.fields, error)
            out.updated = len(addressable) - len(failed)
            bad = {m.profile_id for m, _ in failed}
            engine.remember(sync, [m for m in addressable if m.profile_id not in bad], [])
            engine.runs.commit(run["id"], sync.get("cursor"), None, out)
            engine.runs.finish(run["id"], "completed")
            return out.updated
        except (Deferred, Permanent) as exc:
            engine.runs.finish(run["id"], "failed", [str(exc)[:500]])
            self.redis.sadd(pending_key(sync["id"]), *[m.profile_id for m in changed])
            return 0
        finally:
            if client is not None:
                client.close()
            lock.release()


class _Busy(Exception):
    pass
