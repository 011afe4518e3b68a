"""Runs a sync: the first run exports every member, later runs only the entries and exits since the
last completed run (the segment feed's sequence is the cursor). Work goes in pages; each page is
sent, then its cursor and counts are committed in one transaction, so a crashed worker's successor
re-sends at most one page - harmless, as every client call is idempotent."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import redis
from neo4j import Driver
from neo4j.exceptions import ServiceUnavailable, SessionExpired

from app.destinations.clients import Caller, DestinationClient, Failures, build_client
from app.destinations.erasures import erased_rows
from app.destinations.feed import SegmentFeed, net_changes
from app.destinations.mapping import Member, apply_mapping
from app.destinations.ratelimit import SyncLock, TokenBucket
from app.destinations.retry import Deferred, Permanent, RetryPolicy
from app.destinations.runs import RETRY_TRIGGER, TERMINAL, BatchOutcome, RunStore
from app.destinations.secrets import SecretBox
from app.destinations.store import DestinationStore
from app.errors import NotFound
from app.logs import scrub
from app.settings import Settings

log = logging.getLogger("cdp.sync")
# Neo4j or Redis away for a moment: not the run's fault, and a killed worker's run resumes from its
# cursor the same way, so these leave the run as it is rather than fail it.
_OUR_SERVERS_AWAY = (ServiceUnavailable, SessionExpired, redis.ConnectionError, redis.TimeoutError)


@dataclass
class RunResult:
    outcome: str  # done | deferred | busy | gone
    run: dict | None = None
    delay: float = 0.0


class LockLost(Exception):
    """The run's lock expired while it worked (a stall longer than its TTL): stop, another worker owns it."""


def digest_key(sync_id: str) -> str:
    """Redis hash profile id -> digest of the fields last sent: trait pushes skip unchanged profiles."""
    return f"cdp:sync:{sync_id}:digests"


def send(fn, members: list[Member], size: int) -> Failures:
    """Chunks of at most `size`; a chunk the vendor refuses whole is halved until the poison items
    stand alone, so one bad contact never sinks its neighbours."""
    failures: Failures = []
    for i in range(0, len(members), size):
        failures += _bisect(fn, members[i : i + size])
    return failures


def _bisect(fn, chunk: list[Member]) -> Failures:
    try:
        return fn(chunk)
    except Permanent as exc:
        if exc.fatal:
            raise
        if len(chunk) == 1:
            return [(chunk[0], str(exc))]
        mid = len(chunk) // 2
        return _bisect(fn, chunk[:mid]) + _bisect(fn, chunk[mid:])


class SyncEngine:
    def __init__(self, settings: Settings, driver: Driver, redis_client: redis.Redis):
        self.settings = settings
        self.redis = redis_client
        self.feed = SegmentFeed(driver, settings.neo4j_database)
        self.store = DestinationStore(
            driver, settings.neo4j_database, SecretBox(settings.destination_secret_key)
        )
        self.runs = RunStore(driver, settings.neo4j_database)

    # --- building blocks, shared with trait pushes ---
    def client_for(self, sync: dict, dest: dict, run: dict) -> DestinationClient:
        s = self.settings
        limit = dest.get("rateLimit") or {}
        bucket = TokenBucket(
            self.redis,
            dest["id"],
            float(limit.get("perSecond") or s.sync_default_rate_per_second),
            limit.get("burst"),
            s.sync_max_inline_wait_seconds,
        )
        policy = RetryPolicy(
            s.sync_max_attempts,
            s.sync_backoff_base_seconds,
            s.sync_backoff_max_seconds,
            s.sync_max_inline_wait_seconds,
        )
        context = {"syncId": sync["id"], "runId": run["id"], "segmentId": sync["segmentId"]}
        return build_client(
            dest,
            self.store.secrets(dest),
            sync["options"],
            s,
            Caller(policy, bucket.take, bucket.pause),
            context,
        )

    def remember(self, sync: dict, sent: list[Member], removed: list[str]) -> None:
        # Kept whatever pushTraitChanges says: a digest is also the record that a run delivered the
        # member, which trait pushes require, so turning pushes on later finds the members it sent.
        pipe = self.redis.pipeline(transaction=False)
        if sent:
            pipe.hset(digest_key(sync["id"]), mapping={m.profile_id: m.digest() for m in sent})
        if removed:
            pipe.hdel(digest_key(sync["id"]), *removed)
        pipe.execute()

    # --- a run ---
    def execute(self, run_id: str) -> RunResult:
        run = self.runs.get(run_id)
        if run is None or run["status"] in TERMINAL:
            return RunResult("gone", run)  # a duplicate delivery of a finished run, or a deleted sync
        lock = SyncLock(self.redis, run["syncId"], self.settings.sync_lock_ttl_seconds)
        if not lock.acquire():
            return RunResult("busy", run)
        client = None
        try:
            sync = self.store.sync(run["syncId"])
            dest = self.store.destination(sync["destinationId"])
            run = self._start(run, sync)
            client = self.client_for(sync, dest, run)
            while self._page(run, sync, client, lock):
                pass
            return RunResult("done", self.runs.finish(run_id, "completed"))
        except Deferred as d:
            deferrals = self.runs.defer(run_id, d.delay, f"deferred {d.delay:.1f}s: {d}")
            if deferrals > self.settings.sync_max_deferrals:
                return RunResult(
                    "done", self.runs.finish(run_id, "failed", [f"gave up after {deferrals} deferrals"])
                )
            return RunResult("deferred", run, d.delay)
        except LockLost:
            return RunResult("busy", run)
        except NotFound as exc:
            return RunResult("done", self._fail(run_id, f"{exc.field}: {exc.reason}"))
        except Permanent as exc:  # fatal: credentials or target refused
            return RunResult("done", self._fail(run_id, str(exc)))
        except _OUR_SERVERS_AWAY:
            raise  # the run stays active; beat re-queues it once its lock lapses, and it resumes
        except Exception as exc:  # a bug or an SDK's surprise must end the run, not strand it
            # Left to Celery, the run stayed `running` for ever (beat re-queued it, it failed again,
            # and no new run could start), and the exception's text went to the log unredacted.
            log.exception("sync run raised", extra={"fields": {"run": run_id}})
            return RunResult("done", self._fail(run_id, f"unexpected error: {type(exc).__name__}: {exc}"))
        finally:
            if client is not None:
                client.close()
            lock.release()

    def _fail(self, run_id: str, reason: str) -> dict | None:
        reason = scrub(reason)  # run records are readable with a read token: no addresses, no credentials
        log.error("sync run failed", extra={"fields": {"run": run_id, "reason": reason[:300]}})
        try:
            return self.runs.finish(run_id, "failed", [reason[:500]])
        except IndexError:  # the sync was deleted with its runs meanwhile
            return None

    def _start(self, run: dict, sync: dict) -> dict:
        if run.get("mode"):
            return self.runs.start(run["id"], run["mode"], run.get("baseSeq"), run["headSeq"])
        if run["trigger"] == RETRY_TRIGGER:  # the sync's dead letters, not its feed
            return self.runs.start(run["id"], "retry", None, 0)
        head = self.feed.head(sync["segmentId"])
        cursor = sync.get("cursor")
        # No completed run yet: everyone who is a member now; afterwards: the feed since the cursor,
        # unless retention pruned part of it - then a full export again (adds only: exits in the
        # lost stretch cannot be known).
        mode = "full" if cursor is None or self.feed.lost_since(sync["segmentId"], cursor) else "diff"
        return self.runs.start(run["id"], mode, cursor, head)

    def _page(self, run: dict, sync: dict, client: DestinationClient, lock: SyncLock) -> bool:
        size, segment = self.settings.sync_batch_size, sync["segmentId"]
        if run["mode"] == "retry":
            return self._retry_page(run, sync, client, lock, size)
        if run["mode"] == "full":
            adds = self.feed.members_after(segment, run.get("posProfile") or "", size)
            if not adds:
                return False
            removes: list[str] = []
            pos_seq, pos_profile = run.get("posSeq"), adds[-1]
        else:
            changes = self.feed.changes(segment, run.get("posSeq") or 0, run["headSeq"], size)
            if not changes:
                return False
            adds, removes = net_changes(changes)
            pos_seq, pos_profile = changes[-1].seq, None
        out = BatchOutcome()
        self._deliver(run, sync, client, adds, removes, out)
        self.runs.commit(run["id"], pos_seq, pos_profile, out)
        run.update(posSeq=pos_seq, posProfile=pos_profile)
        if not lock.refresh():
            raise LockLost()
        return True

    def _retry_page(self, run: dict, sync: dict, client: DestinationClient, lock: SyncLock, size: int) -> bool:
        """Dead letters sent again as the profiles are now: an add (or update) of one still a member,
        a remove of one that is not (or was erased); a letter the profile's state has overtaken is
        dropped, counted as skipped. Sent or dropped, the letters go; refused again, a new one is made."""
        letters = self.runs.dead_letters_to_retry(run["syncId"], run["id"], run["createdAt"], size)
        if not letters:
            return False
        latest = {x["profileId"]: x["op"] for x in letters}  # oldest first: the last letter wins
        adds = [p for p, op in latest.items() if op != "remove"]
        removes = [p for p, op in latest.items() if op == "remove"]
        out = BatchOutcome(retried=[x["id"] for x in letters])
        out.skipped += len(letters) - len(latest)  # older letters of the same profiles
        self._deliver(run, sync, client, adds, removes, out)
        self.runs.commit(run["id"], None, None, out)
        if not lock.refresh():
            raise LockLost()
        return True

    def _deliver(
        self,
        run: dict,
        sync: dict,
        client: DestinationClient,
        adds: list[str],
        removes: list[str],
        out: BatchOutcome,
    ) -> None:
        rows = self.feed.rows(sync["segmentId"], adds + removes)
        to_add: dict[str, Member] = {}
        for pid in adds:
            row = rows.get(pid)
            if row is None or not row["member"]:
                out.skipped += 1  # erased, or left again: a later change in the feed says so
                continue
            m = apply_mapping(sync["mapping"], row)
            if not client.addressable(m):
                out.skipped += 1
                continue
            to_add[m.profile_id] = m  # two merged profiles resolve to one survivor: send it once
        to_remove: list[Member] = []
        gone = [pid for pid in removes if pid not in rows]
        if gone:  # erased: addressed by what the erasure sealed for this (app/destinations/erasures.py)
            rows.update(erased_rows(self.feed.driver, self.feed.database, self.store.box, gone))
        for pid in removes:
            row = rows.get(pid)
            # Gone without a trace (erased while in no synced segment, or the seal was pruned). Merged
            # into a profile that is a member: its identifiers live on in a member, so removing them
            # would remove the member.
            if row is None or row["member"] or not client.removes(bool(row.get("erased"))):
                out.skipped += 1
                continue
            m = apply_mapping(sync["mapping"], row)
            if not client.addressable(m):
                out.skipped += 1
                continue
            to_remove.append(m)
        # Removes first: when a merge makes a loser exit and its survivor enter with the same email,
        # the add must be the last word.
        failed = send(client.remove, to_remove, client.max_batch)
        for m, error in failed:
            out.dead_letter(run, "remove", m.profile_id, m.fields, error, erased=m.erased)
        out.removed += len(to_remove) - len(failed)
        members = list(to_add.values())
        failed_add = send(client.add, members, client.max_batch)
        for m, error in failed_add:
            out.dead_letter(run, "add", m.profile_id, m.fields, error)
        out.added += len(members) - len(failed_add)
        bad = {m.profile_id for m, _ in failed_add}
        self.remember(
            sync, [m for m in members if m.profile_id not in bad], [m.profile_id for m in to_remove]
        )
