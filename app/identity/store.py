"""Write a batch of prepared messages: dedup, lock, plan the merges, apply them, store events.

Everything happens in one write transaction, so a batch is durable as a whole when the
function returns; on deadlocks and races the store re-runs the (idempotent) transaction body.
"""
from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from functools import lru_cache

from neo4j import Driver, ManagedTransaction
from neo4j.exceptions import ConstraintError, ServiceUnavailable, SessionExpired, TransientError

from app import metrics
from app.db import Rows, begin_pipelined, confirmed_then, in_one_statement, query
from app.identity.erasure import suppression_hash
from app.identity.event_order import resolve_late_conflicts
from app.identity.known_owners import DEFAULT_CAPACITY, KnownOwners
from app.identity.planner import MergePlanner, PlannedMessage, ProfileState, WritePlan
from app.identity.profile_state import rederive
from app.identity.rules import ANONYMOUS_ID, USER_ID, Identifier, IdentityRules
from app.ingest.prepare import PreparedMessage
from app.settings import DEFAULT_SUPPRESSION_SALT

# How long one batch keeps retrying deadlocks, races and a missing Neo4j. Shorter than the SDKs'
# request timeout (15 s), so a client sees a 503 and retries rather than timing out blind.
RETRY_SECONDS = 10.0


# Every message's identifiers are checked against the suppression list by their salted hash; a
# visitor's session sends many messages in a few minutes, and an HMAC costs microseconds, so the
# most recent keys' hashes are kept (a few thousand: a cache of tens of thousands held tens of MB).
_suppression_hash = lru_cache(maxsize=1 << 12)(suppression_hash)


class StaleSnapshot(Exception):
    """A profile we read was retired before we locked it; the transaction is re-run."""


class StoreBusy(Exception):
    """A group's transaction kept meeting deadlocks or races for RETRY_SECONDS: nothing of it was
    written, and its requests are answered 503 for their senders to retry."""


def _retry_reason(exc: Exception) -> str:
    if isinstance(exc, StaleSnapshot):
        return "stale_snapshot"
    if isinstance(exc, ConstraintError):
        return "stored_concurrently"
    if isinstance(exc, TransientError):
        return "deadlock" if exc.code == "Neo.TransientError.Transaction.DeadlockDetected" else "transient"
    return "unavailable"


def _previous_id_keys(m: PreparedMessage) -> list[str]:
    """The keys an alias's previousId may stand for (typed against the graph later): both are
    checked against the suppression list."""
    return [] if m.previous_id is None else [f"{USER_ID}:{m.previous_id}", f"{ANONYMOUS_ID}:{m.previous_id}"]


@dataclass
class IngestResult:
    stored: int = 0
    duplicates: int = 0
    merges: int = 0
    new_profiles: int = 0
    refusals: int = 0
    suppressed: int = 0  # messages dropped because they carry an erased identifier
    # Messages of a signed-in user stored without the erased device id they carried (a shared device).
    erased_devices_stripped: int = 0
    duplicate_ids: list[str] = field(default_factory=list)
    suppressed_ids: list[str] = field(default_factory=list)
    # Live profiles this batch changed (new events, identifiers or merges) and the profiles it
    # retired, loser -> survivor: what downstream upkeep (segment membership) re-evaluates.
    touched_profiles: set[str] = field(default_factory=set)
    retired: dict[str, str] = field(default_factory=dict)
    new_trait_names: list[str] = field(default_factory=list)
    # Every identifier the batch wrote -> its live profile once committed (what the store remembers).
    owners: dict[str, str] = field(default_factory=dict)
    # Messages delivered late that a rule refused (planner.WritePlan.late_conflicts), and what
    # resolving their components again in event-time order did (event_order.Reresolution).
    late_conflicts: list[dict] = field(default_factory=list)
    reresolved: list = field(default_factory=list)

    @classmethod
    def combined(cls, results: list[IngestResult]) -> IngestResult:
        """One answer for a request whose messages were written by several transactions."""
        out = cls()
        for r in results:
            out.stored += r.stored
            out.duplicates += r.duplicates
            out.merges += r.merges
            out.new_profiles += r.new_profiles
            out.refusals += r.refusals
            out.suppressed += r.suppressed
            out.erased_devices_stripped += r.erased_devices_stripped
            out.duplicate_ids.extend(r.duplicate_ids)
            out.suppressed_ids.extend(r.suppressed_ids)
            out.touched_profiles |= r.touched_profiles
            out.retired.update(r.retired)
            out.new_trait_names.extend(n for n in r.new_trait_names if n not in out.new_trait_names)
            out.owners.update(r.owners)
            out.late_conflicts.extend(r.late_conflicts)
            out.reresolved.extend(r.reresolved)
        return out


def event_rows(messages: list[PreparedMessage], anchors: dict[str, str]) -> list[dict]:
    """create_events' rows: each event's properties as prepared, and the identifier it hangs off
    beside them (not copied in: the statement sets it after the map)."""
    return [{"props": m.event, "identifier": anchors[m.message_id]} for m in messages]


def _aggregate_edges(rows: list[dict], with_reason: bool = False) -> list[dict]:
    """One row per identifier pair (canonical key order): count, earliest and latest message."""
    out: dict[tuple[str, str], dict] = {}
    for r in rows:
        a, b = sorted((r["a"], r["b"]))
        agg = out.get((a, b))
        if agg is None:
            agg = out[(a, b)] = {"a": a, "b": b, "count": 0, "source": r["source"],
                                 "firstAt": r["ts"], "firstMessageId": r["message_id"],
                                 "lastAt": r["ts"], "lastMessageId": r["message_id"]}
        agg["count"] += 1
        if r["ts"] < agg["firstAt"]:
            agg.update(firstAt=r["ts"], firstMessageId=r["message_id"], source=r["source"])
        if r["ts"] >= agg["lastAt"]:
            agg.update(lastAt=r["ts"], lastMessageId=r["message_id"])
        if with_reason:
            agg["reason"] = r["reason"]
    return sorted(out.values(), key=lambda r: (r["a"], r["b"]))


class IdentityStore:
    def __init__(self, driver: Driver, database: str, rules: IdentityRules,
                 suppression_salt: str = DEFAULT_SUPPRESSION_SALT, known_owners: int = DEFAULT_CAPACITY):
        self.driver = driver
        self.database = database
        self.rules = rules
        self.salt = suppression_salt
        self.known_trait_names: set[str] = set()  # registered as TraitKey: skip the MERGE next time
        self.known_owners = KnownOwners(known_owners)
        # What the snapshot's confirmation checks a remembered profile against: the planner refuses
        # nothing to a profile within every limit (a limit lowered since its identifiers joined is
        # the exception).
        self._limits = [{"count": f"n_{t}", "limit": r.limit} for t, r in rules.rules.items() if r.limit is not None]

    def ingest(self, messages: list[PreparedMessage]) -> IngestResult:
        if not messages:
            return IngestResult()
        deadline = time.monotonic() + RETRY_SECONDS
        attempt = 0
        while True:
            try:
                # A fresh session per attempt: after a lost connection the old one may be unusable.
                with self.driver.session(database=self.database) as session, begin_pipelined(session) as tx:
                    result = self._ingest_tx(tx, messages)
                    tx.commit()
                self.known_trait_names.update(result.new_trait_names)
                self.known_owners.remember(result.owners)
                if result.late_conflicts:
                    self._resolve_late_conflicts(result)
                return result
            except (ConstraintError, StaleSnapshot, TransientError, SessionExpired, ServiceUnavailable) as exc:
                # Deadlocks, a concurrent writer storing one of these messageIds first, a profile
                # retired under us, or Neo4j briefly away: the re-run sees the committed state (and
                # messageId dedup makes a commit whose answer was lost safe to repeat). The driver's
                # own retry waits a second first; a short jittered backoff keeps ingest latency low.
                if isinstance(exc, TransientError) and not exc.is_retryable():
                    raise
                reason = _retry_reason(exc)
                metrics.WRITE_RETRIES.labels(reason).inc()
                attempt += 1
                if time.monotonic() > deadline:
                    if isinstance(exc, (SessionExpired, ServiceUnavailable)):
                        raise
                    raise StoreBusy(f"the write met concurrent writes for {RETRY_SECONDS:g} s "
                                    f"({attempt} attempt{'s' if attempt > 1 else ''}, the last: {reason})") from exc
                time.sleep(random.uniform(0, min(0.5, 0.005 * 2 ** attempt)))

    def _resolve_late_conflicts(self, result: IngestResult) -> None:
        """After the batch's commit, in transactions of their own: the components of messages that
        arrived late and met a refusal are resolved again in event-time order, so the graph is what
        in-order delivery would have made. The batch itself is durable whatever happens here; a
        failure is logged and counted, and `cdp resolve-again` repeats the work."""
        for change in resolve_late_conflicts(self.driver, self.database, self.rules, result.late_conflicts):
            result.reresolved.append(change)
            result.touched_profiles |= change.live_profiles
            result.touched_profiles -= change.retired.keys()
            result.retired.update(change.retired)
            result.owners.update(change.owners)
            self.known_owners.remember(change.owners)

    # --- transaction body (re-run on transient errors: must not mutate its inputs) ---
    # Three round trips per group: BEGIN with the snapshot (dedup, suppression, locks and the state
    # the planner reads), the combined write, the commit; one more for an alias's previousId, and
    # one more when retried or erased messages are dropped. Two for a group on known owners or new
    # identifiers (BEGIN with the confirming write, the commit); three when they are not confirmed
    # (that statement answers the snapshot instead). Every ingest
    # statement takes its rows in one map parameter, `$batch`: Neo4j keys its plan cache on each
    # top-level list parameter's size bucket, so separate lists made each new mix of group sizes a
    # re-parse and re-plan.
    def _ingest_tx(self, tx: ManagedTransaction, messages: list[PreparedMessage]) -> IngestResult:
        result = IngestResult()
        unique: dict[str, PreparedMessage] = {}
        for m in messages:
            if m.message_id in unique:
                result.duplicates += 1
                result.duplicate_ids.append(m.message_id)
            else:
                unique[m.message_id] = m
        fresh = list(unique.values())
        snapshot = self._write_on_known_owners(tx, fresh, result)
        if snapshot is True:
            return result
        while True:  # `snapshot`: None, or what the known-owners statement answered instead
            planned = self._with_alias_identifiers(tx, fresh)
            hashes = self._identifier_hashes(fresh)
            # Sorted, like the identifiers: in a statement that writes, a seek that finds no
            # messageId or suppression hash locks that missing key exclusively until commit, and
            # two writers taking shared keys in different orders deadlock (most of the deadlocks
            # 16 concurrent writers met were these).
            if snapshot is None:
                snapshot = tx.run(confirmed_then("ingest/snapshot"), batch=Rows(
                    ids=sorted(m.message_id for m in fresh), hashes=sorted(hashes),
                    identifiers=self._identifier_rows(planned))).single()
            if not snapshot["stored"] and not snapshot["suppressed"]:
                break  # the identifiers and profiles are locked and read
            # Retried or erased messages: drop them and ask again (nothing was locked or written).
            stored = set(snapshot["stored"])
            result.duplicates += len(stored)
            result.duplicate_ids.extend(sorted(stored))
            fresh = self._without_erased([m for m in fresh if m.message_id not in stored],
                                         set(snapshot["suppressed"]), result)
            if not fresh:
                return result
            snapshot = None

        owner = {o["key"]: o["profile"] for o in snapshot["owners"]}
        seen_before = {o["key"]: o["seenBefore"] for o in snapshot["owners"] if o["seenBefore"] is not None}
        direct_users = {d["key"]: set(d["users"]) for d in snapshot["directUsers"]}
        profiles = self._profile_states(snapshot["profiles"], {p for p in owner.values() if p})
        plan = MergePlanner(self.rules, owner, profiles, direct_users, seen_before).plan(planned)
        self._apply(tx, plan, fresh, result)
        for pid in sorted({m["from"] for m in plan.moves} | {m["to"] for m in plan.moves}):
            rederive(tx, pid)  # the moved identifiers took their events (and traits) along
        self._tally(result, plan, len(fresh))
        return result

    @staticmethod
    def _tally(result: IngestResult, plan: WritePlan, stored: int) -> None:
        """What a written plan did, into the group's result."""
        result.stored = stored
        result.merges = len(plan.merges)
        result.new_profiles = len(plan.new_profiles)
        result.refusals = len(plan.refusals)
        result.touched_profiles = {u["id"] for u in plan.profile_updates}
        result.retired = {m["loser"]: m["survivor"] for m in plan.merges}
        result.owners = plan.owner
        result.late_conflicts = plan.late_conflicts

    def _write_on_known_owners(self, tx: ManagedTransaction, fresh: list[PreparedMessage],
                               result: IngestResult):
        """Two round trips instead of three, for a group whose every message brings identifiers
        last written to one profile, or only identifiers never written here (a new visitor's): the
        plan needs no snapshot (a returning visitor's messages merge, assign and refuse nothing; a
        new visitor's are planned as on an empty graph), and one statement confirms those owners
        under the identifiers' locks and writes only then. True when written. Otherwise the
        snapshot that statement answered instead (nothing but the identifiers' seen window was
        written), or None when the group does not qualify."""
        if not self.known_owners.capacity or any(m.previous_id is not None for m in fresh):
            return None
        remembered = self.known_owners.owners_among(i.key for m in fresh for i in m.identifiers)
        known_profiles: set[str] = set()
        for m in fresh:
            owners = {remembered.get(i.key) for i in m.identifiers}
            if len(owners) > 1:  # two profiles, or a remembered identifier beside an unseen one
                return None
            known_profiles |= owners
        known_profiles.discard(None)
        planned = self._with_alias_identifiers(tx, fresh)  # no previousId here: no query
        owner = {i.key: remembered.get(i.key) for m in planned for i in m.identifiers}
        # Empty counts: the confirmation checks the real ones against the limits instead, and the
        # remembered profiles' rows leave them as they are (update_profiles keeps a count a row
        # does not carry); a new profile's counts are the plan's own.
        states = {pid: ProfileState(pid, Counter(), 0) for pid in known_profiles}
        plan = MergePlanner(self.rules, owner, states).plan(planned)
        if plan.merges or plan.moves or plan.lift_blocks:  # cannot happen on these assumptions
            return None
        for update in plan.profile_updates:
            if update["id"] in known_profiles:
                for id_type in self.rules.rules:
                    del update[f"n_{id_type}"]
        rows = self._identifier_rows(planned)
        for row in rows:
            row["profile"] = remembered.get(row["key"])
        written = IngestResult()
        steps, params = self._write_steps(plan, fresh, written)
        params.update(ids=sorted(m.message_id for m in fresh), hashes=sorted(self._identifier_hashes(fresh)),
                      identifiers=rows, limits=self._limits)
        answer = tx.run(confirmed_then("ingest/snapshot", steps), batch=params).single()
        metrics.KNOWN_OWNER_GROUPS.labels("written" if answer["confirmed"] else "planned_from_snapshot").inc()
        if not answer["confirmed"]:
            return answer
        self._tally(result, plan, len(fresh))
        result.new_trait_names = written.new_trait_names
        return True

    def _without_erased(self, messages: list[PreparedMessage], suppressed: set[str],
                        result: IngestResult) -> list[PreparedMessage]:
        """Messages carrying an erased identifier are the erased person's and are dropped, except a
        signed-in user's message whose only erased identifier is a device id: the device was shared
        with the erased person, so the message is kept without it (device id field included)."""
        kept = []
        for m in messages:
            erased = {i for i in m.identifiers if _suppression_hash(self.salt, i.key) in suppressed}
            aliased = any(_suppression_hash(self.salt, k) in suppressed for k in _previous_id_keys(m))
            if not erased and not aliased:
                kept.append(m)
            elif (not aliased and all(i.type == ANONYMOUS_ID for i in erased)
                  and any(i.type == USER_ID for i in m.identifiers if i not in erased)):
                kept.append(replace(m, identifiers=[i for i in m.identifiers if i not in erased],
                                    event={**m.event, "anonymousId": None}))
                result.erased_devices_stripped += 1
            else:
                result.suppressed += 1
                result.suppressed_ids.append(m.message_id)
        return kept

    def _identifier_hashes(self, messages) -> dict[str, list[PreparedMessage]]:
        """Suppression-list hash -> the messages carrying that identifier."""
        hashes: dict[str, list[PreparedMessage]] = {}
        for m in messages:
            for k in [i.key for i in m.identifiers] + _previous_id_keys(m):
                hashes.setdefault(_suppression_hash(self.salt, k), []).append(m)
        return hashes

    @staticmethod
    def _trait_rows(plan: WritePlan, fresh: list[PreparedMessage]) -> list[dict]:
        """Person traits onto the final live profile: one row per (profile, trait), newest wins."""
        newest: dict[tuple[str, str], dict] = {}
        for m in fresh:
            if not m.traits:
                continue
            profile = plan.owner[plan.anchors[m.message_id]]
            for name, value in m.traits.items():
                row = newest.get((profile, name))
                if row is None or row["ts"] <= m.ts:
                    newest[(profile, name)] = {"profile": profile, "name": name, "value": value, "ts": m.ts}
        return list(newest.values())

    def _with_alias_identifiers(self, tx: ManagedTransaction, fresh: list[PreparedMessage]) -> list[PlannedMessage]:
        """alias.previousId is a known userId if the graph (or this batch) has it as one,
        otherwise an anonymousId."""
        prev_user_keys = [f"{USER_ID}:{m.previous_id}" for m in fresh if m.previous_id is not None]
        known: set[str] = set()
        if prev_user_keys:
            rows = tx.run(query("ingest/known_identifiers"), batch={"keys": prev_user_keys})
            known = {r["key"] for r in rows}
        planned = []
        # With an alias, in event-time order, as the planner takes them: whether a previousId is a
        # user id known by then must not depend on the order the batch arrived in.
        for m in sorted(fresh, key=lambda m: (m.ts, m.message_id)) if prev_user_keys else fresh:
            ids = list(m.identifiers)
            if m.previous_id is not None:
                as_user = Identifier(USER_ID, m.previous_id)
                ids.append(as_user if as_user.key in known else Identifier(ANONYMOUS_ID, m.previous_id))
                ids = self.rules.ordered(ids)
            for i in ids:
                if i.type == USER_ID:
                    known.add(i.key)
            planned.append(PlannedMessage(m.message_id, ids, m.ts, m.source))
        return planned

    @staticmethod
    def _identifier_rows(planned: list[PlannedMessage]) -> list[dict]:
        """One row per identifier, sorted by key (lock order), with the batch's seen window."""
        rows: dict[str, dict] = {}
        for m in planned:
            ts = m.ts
            for i in m.identifiers:
                row = rows.get(i.key)
                if row is None:
                    rows[i.key] = {"key": i.key, "type": i.type, "value": i.value, "firstSeen": ts, "lastSeen": ts}
                elif ts < row["firstSeen"]:
                    row["firstSeen"] = ts
                elif ts > row["lastSeen"]:
                    row["lastSeen"] = ts
        return [rows[k] for k in sorted(rows)]

    @staticmethod
    def _profile_states(rows: list[dict], ids: set[str]) -> dict[str, ProfileState]:
        out: dict[str, ProfileState] = {}
        for r in rows:
            if r["retired"]:
                raise StaleSnapshot(f"profile {r['id']} was retired while the batch was planned")
            counts = Counter({t: r[t] for t in ("user_id", "email", "phone", "anonymous_id") if r[t]})
            blocks: dict[str, int] = {}
            for b in r["blocks"]:
                blocks[b["profile"]] = max(b["at"], blocks.get(b["profile"], b["at"]))
            newest = max((t for t in (r["lastSeen"], r["newestTouch"]) if t is not None), default=None)
            out[r["id"]] = ProfileState(r["id"], counts, r["createdAt"] or 0, blocks=blocks, last_seen=newest,
                                        decided_at=r["decidedAt"])
        if len(out) != len(ids):
            raise StaleSnapshot("a profile disappeared while the batch was planned")
        return out

    def _apply(self, tx: ManagedTransaction, plan: WritePlan, fresh: list[PreparedMessage],
               result: IngestResult) -> None:
        """Every write of the plan, in order, as one statement: one round trip however many steps."""
        steps, params = self._write_steps(plan, fresh, result)
        tx.run(in_one_statement(steps), batch=params).consume()

    def _write_steps(self, plan: WritePlan, fresh: list[PreparedMessage],
                     result: IngestResult) -> tuple[tuple[str, ...], Rows]:
        """The plan's write steps (cypher/ingest files) in order, and their parameters."""
        steps: list[str] = []
        params = Rows()

        def step(name: str, **values) -> None:
            steps.append(name)
            params.update(values)

        if plan.new_profiles:
            keys: dict[str, list[str]] = {}
            for a in plan.assignments:
                keys.setdefault(a["profile"], []).append(a["key"])
            step("ingest/create_profiles", profiles=[{**p, "keys": keys.get(p["id"], [])} for p in plan.new_profiles])
        if plan.merges:
            step("ingest/merge_traits", merges=plan.merges)
            step("ingest/merge_profiles")
        if plan.moves:
            step("ingest/move_identifiers", moves=plan.moves)
        new_profiles = {p["id"] for p in plan.new_profiles}
        existing = [a for a in plan.assignments if a["profile"] not in new_profiles]
        if existing:
            step("ingest/assign_identifiers", assignments=existing)
        if plan.profile_updates:
            step("ingest/update_profiles", profileUpdates=plan.profile_updates)
        if plan.lift_blocks:
            step("ingest/lift_split_blocks", liftBlocks=plan.lift_blocks)
        if plan.evidence:
            step("ingest/record_evidence", evidence=_aggregate_edges(plan.evidence))
        if plan.refusals:
            step("ingest/record_refusals", refusals=_aggregate_edges(plan.refusals, with_reason=True))
        if plan.decided:
            step("ingest/mark_decided", decided=plan.decided)
        traits = self._trait_rows(plan, fresh)
        if traits:
            step("ingest/set_traits", traits=traits)
            names = sorted({t["name"] for t in traits} - self.known_trait_names)
            if names:
                step("ingest/register_trait_keys", traitNames=names, traitsSeenAt=max(t["ts"] for t in traits))
                result.new_trait_names = names
        step("ingest/create_events", events=event_rows(fresh, plan.anchors))
        return tuple(steps), params
