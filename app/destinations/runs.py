"""Run records (status, counts, errors, duration, cursor) and dead letters, in the graph."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import orjson
from neo4j import Driver

from app.db import query
from app.destinations.store import now_ms
from app.errors import NotFound
from app.ingest.messages import FieldError

ACTIVE = ("queued", "running", "deferred")
_RUN_FIELDS = (
    "mode",
    "startedAt",
    "finishedAt",
    "durationMs",
    "baseSeq",
    "headSeq",
    "posSeq",
    "posProfile",
    "resumeAt",
    "heartbeatAt",
)


def _doc(node: dict) -> dict:
    """A run with every field present: the graph stores no nulls (and runs recorded before trait
    pushes were counted apart have no `updated`)."""
    return {**{k: None for k in _RUN_FIELDS}, "updated": 0, **node}


TERMINAL = ("succeeded", "partial", "failed")
RETRY_TRIGGER = "dead_letters"  # a run that sends the sync's dead letters again, not its feed


@dataclass
class BatchOutcome:
    """What one acknowledged batch did, committed with the cursor that follows it."""

    added: int = 0
    removed: int = 0
    updated: int = 0  # trait changes pushed to members already sent
    failed: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)
    dead: list[dict] = field(default_factory=list)
    retried: list[str] = field(default_factory=list)  # dead letters this batch sent again (deleted with it)

    def dead_letter(self, run: dict, op: str, profile_id: str, fields: dict, error: str,
                    erased: bool = False) -> None:
        if erased:  # an erased person's addresses live only in the erasure's seal (app/destinations/erasures.py)
            fields, error = {}, f"refused the removal of an erased person ({error.split(':', 1)[0]})"
        self.failed += 1
        self.errors.append(f"{op} {profile_id}: {error}"[:500])
        self.dead.append(
            {
                "id": str(uuid.uuid4()),
                "syncId": run["syncId"],
                "runId": run["id"],
                "destinationId": run["destinationId"],
                "profileId": profile_id,
                "op": op,
                "fields": orjson.dumps(fields, default=str).decode(),
                "error": error[:2000],
                "at": now_ms(),
            }
        )


class RunStore:
    def __init__(self, driver: Driver, database: str):
        self.driver = driver
        self.database = database

    def _run(self, name: str, **params) -> list:
        records, _, _ = self.driver.execute_query(
            query(f"destinations/{name}"), params, database_=self.database
        )
        return records

    def create(self, sync: dict, trigger: str) -> dict:
        """A queued run; FieldError 409 naming the active run when the sync already has one."""
        now = now_ms()
        props = {
            "id": str(uuid.uuid4()),
            "syncId": sync["id"],
            "destinationId": sync["destinationId"],
            "segmentId": sync["segmentId"],
            "status": "queued",
            "trigger": trigger,
            "createdAt": now,
            "added": 0,
            "removed": 0,
            "updated": 0,
            "failed": 0,
            "skipped": 0,
            "errors": [],
            "attempts": 0,
            "deferrals": 0,
        }
        rows = self._run("create_run", sync=sync["id"], props=props)
        if not rows:
            raise NotFound("id", f"no sync {sync['id']!r}")
        if rows[0]["active"]:
            raise FieldError("id", f"run {rows[0]['active'][0]} of this sync is still active", 409)
        return _doc(props)

    def active(self, sync_ids: list[str]) -> dict[str, dict]:
        """sync id -> its active run (queued, running or deferred), for syncs that have one."""
        return {r["sync"]: {"resumeAt": None, "startedAt": None, **r["r"]}
                for r in self._run("active_runs", syncs=sync_ids)}

    def get(self, run_id: str) -> dict | None:
        rows = self._run("get_run", id=run_id)
        return _doc(rows[0]["r"]) if rows else None

    def list(self, sync_id: str, limit: int) -> list[dict]:
        return [_doc(r["r"]) for r in self._run("list_runs", sync=sync_id, limit=limit)]

    def start(self, run_id: str, mode: str, base: int | None, head: int) -> dict:
        return _doc(self._run("start_run", id=run_id, mode=mode, base=base, head=head, now=now_ms())[0]["r"])

    def commit(self, run_id: str, pos_seq: int | None, pos_profile: str | None, out: BatchOutcome) -> None:
        self._run(
            "commit_batch",
            id=run_id,
            posSeq=pos_seq,
            posProfile=pos_profile,
            now=now_ms(),
            added=out.added,
            removed=out.removed,
            updated=out.updated,
            failed=out.failed,
            skipped=out.skipped,
            errors=out.errors[-20:],
            dead=out.dead,
            retried=out.retried,
        )

    def defer(self, run_id: str, delay: float, error: str) -> int:
        now = now_ms()
        return self._run(
            "defer_run", id=run_id, now=now, resumeAt=now + int(delay * 1000), error=error[:500]
        )[0]["deferrals"]

    def finish(self, run_id: str, status: str, errors: list[str] | None = None) -> dict:
        return _doc(
            self._run("finish_run", id=run_id, status=status, now=now_ms(), errors=errors or [])[0]["r"]
        )

    def stalled(self, stale_before: int, limit: int = 100) -> list[dict]:
        return [dict(r) for r in self._run("stalled_runs", now=now_ms(), stale=stale_before, limit=limit)]

    def touch(self, run_id: str) -> None:
        self._run("touch_run", id=run_id, now=now_ms())

    def dead_letters(self, sync_id: str, limit: int, before: int | None) -> list[dict]:
        out = []
        for r in self._run("list_dead_letters", sync=sync_id, limit=limit, before=before):
            x = dict(r["x"])
            x["fields"] = orjson.loads(x["fields"])
            out.append(x)
        return out

    def dead_letters_to_retry(self, sync_id: str, run_id: str, before: int, limit: int) -> list[dict]:
        rows = self._run("dead_letters_to_retry", sync=sync_id, run=run_id, before=before, limit=limit)
        return [dict(r["x"]) for r in rows]

    def prune(self, runs_before: int, letters_before: int | None, chunk: int = 5_000) -> dict[str, int]:
        """Delete finished runs and (unless letters_before is None) dead letters older than these
        times (epoch ms), a chunk per transaction so a long history never sits in one transaction."""
        pruned = {"runs": 0, "deadLetters": 0}
        steps = [("runs", "prune_runs", {"before": runs_before, "terminal": list(TERMINAL)})]
        if letters_before is not None:
            steps.append(("deadLetters", "prune_dead_letters", {"before": letters_before}))
        for key, name, params in steps:
            while True:
                deleted = self._run(name, limit=chunk, **params)[0]["deleted"]
                pruned[key] += deleted
                if deleted < chunk:
                    break
        return pruned

    def delete_dead_letter(self, sync_id: str, dl_id: str) -> None:
        if not self._run("delete_dead_letter", sync=sync_id, id=dl_id)[0]["deleted"]:
            raise NotFound("deadLetterId", f"no dead letter {dl_id!r} for this sync")
