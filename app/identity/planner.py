"""The merge planner: given the graph's current state for a batch's identifiers, decide
which identifiers join which profile, which profiles merge, and what is refused and why.

Pure Python over a snapshot, so the rules are testable without a database; the store
applies the plan inside the same transaction that read the snapshot (with the identifiers
and profiles locked), so the plan cannot go stale.
"""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field

from app.identity.rules import EMAIL, PHONE, USER_ID, Identifier, IdentityRules


def new_profile_id() -> str:
    """A random (version 4) UUID in its usual text form. Built from the random bytes directly: a
    merge plan makes one per new person, and `str(uuid.uuid4())` costs over twice as much."""
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


@dataclass
class ProfileState:
    id: str
    counts: Counter
    created_ms: int
    is_new: bool = False
    # other profile id -> time of the latest split between them: evidence up to then may not re-merge
    blocks: dict[str, int] = field(default_factory=dict)
    last_seen: int | None = None  # newest message on it before this batch (see the snapshot)
    decided_at: int | None = None  # the newest message a rule refused a join or claimed for, on it


@dataclass
class PlannedMessage:
    message_id: str
    identifiers: list[Identifier]  # strongest first, distinct
    ts: int  # epoch ms of the corrected timestamp
    source: str


@dataclass
class Evidence:
    a: str
    b: str
    message_id: str
    ts: int
    source: str


@dataclass
class Refusal:
    a: str
    b: str
    message_id: str
    ts: int
    source: str
    reason: str


@dataclass
class Merge:
    loser: str
    survivor: str
    message_id: str
    ts: int
    source: str
    reason: str


@dataclass
class WritePlan:
    new_profiles: list[dict] = field(default_factory=list)
    assignments: list[dict] = field(default_factory=list)  # new identifier key -> profile id
    merges: list[dict] = field(default_factory=list)  # existing loser -> final survivor
    profile_updates: list[dict] = field(default_factory=list)  # counts and seen window
    evidence: list[dict] = field(default_factory=list)
    refusals: list[dict] = field(default_factory=list)
    anchors: dict[str, str] = field(default_factory=dict)  # messageId -> identifier key
    lift_blocks: list[str] = field(default_factory=list)  # live profiles re-merged by post-split evidence
    owner: dict[str, str] = field(default_factory=dict)  # every batch identifier -> its final live profile
    moves: list[dict] = field(default_factory=list)  # identifiers claimed off another profile
    # Messages a rule refused (or that claimed an identifier) although the graph already held a
    # newer message of the profiles they met: delivered late, so their component is resolved again
    # in event-time order (app/identity/event_order.py).
    late_conflicts: list[dict] = field(default_factory=list)
    # Live profile -> the newest message of this batch a rule refused a join or claimed for, there.
    decided: list[dict] = field(default_factory=list)


class MergePlanner:
    def __init__(self, rules: IdentityRules, owner: dict[str, str | None], profiles: dict[str, ProfileState],
                 direct_users: dict[str, set[str]] | None = None, seen_before: dict[str, int] | None = None):
        self.rules = rules
        self._limits = [(t, rules.limit(t)) for t in sorted(rules.rules, key=rules.priority)
                        if rules.limit(t) is not None]
        self.seen_before = seen_before or {}  # identifier key -> its newest message before this batch
        self.late_conflicts: list[dict] = []
        # email/phone key -> user_id keys it was seen with in the same message (not via a device)
        self.direct_users = {k: set(v) for k, v in (direct_users or {}).items()}
        self.moves: list[dict] = []
        self.owner = dict(owner)  # identifier key -> live profile id (None: not yet assigned)
        self.profiles = dict(profiles)
        self.existing = set(profiles)
        self.members: dict[str, set[str]] = {}  # profile id -> this batch's keys it holds
        for key, pid in owner.items():
            if pid is not None:
                self.members.setdefault(pid, set()).add(key)
        self.new_identifiers: set[str] = {k for k, p in owner.items() if p is None}
        self.merges: list[Merge] = []
        self.evidence: list[Evidence] = []
        self.refusals: list[Refusal] = []
        self.anchors: dict[str, str] = {}
        self.touched: set[str] = set()
        self.anchor_ts: list[tuple[str, int, str]] = []
        self.retired: dict[str, str] = {}  # loser -> survivor, within this batch
        self.lift_blocks: set[str] = set()

    def _fits(self, total: Counter, add: dict[str, int]) -> str | None:
        """None if total+add respects every limit, else the reason it does not: the strongest type
        broken, whatever order the counts were built in (the shared-device claim reads it)."""
        for id_type, limit in self._limits:
            n = add.get(id_type)
            if n and total[id_type] + n > limit:
                return f"limit:{id_type}:{limit}"
        return None

    def _current(self, pid: str) -> str:
        while pid in self.retired:
            pid = self.retired[pid]
        return pid

    def _split_block(self, candidate: ProfileState, accepted: list[ProfileState], ts: int) -> tuple[str | None, bool]:
        """(refusal reason, lifted): a split between these profiles refuses evidence from up to the
        split's time; later evidence is new and lifts the block."""
        accepted_ids = {p.id for p in accepted}
        lifted = False
        for other, at in candidate.blocks.items():  # stored on both sides of a split
            if self._current(other) in accepted_ids:
                if ts <= at:
                    return "split", False
                lifted = True
        return None, lifted

    def _claimable(self, ident: Identifier, pid: str | None, reason: str, total: Counter) -> bool:
        """An email or phone that reached another person's profile only through a shared device
        (never in a message with that profile's user id) is claimed by the user id that now
        presents it, instead of being refused: the family computer must not keep B's email."""
        return (pid is not None and reason.startswith(f"limit:{USER_ID}:") and ident.type in (EMAIL, PHONE)
                and total[USER_ID] >= 1 and not self.direct_users.get(ident.key))

    def _detach(self, ident: Identifier, pid: str, msg: PlannedMessage) -> None:
        profile = self.profiles[pid]
        profile.counts[ident.type] -= 1
        self.members.get(pid, set()).discard(ident.key)
        self.owner[ident.key] = None
        self.new_identifiers.add(ident.key)
        self.touched.add(pid)
        self.moves.append({"key": ident.key, "from": pid, "messageId": msg.message_id, "ts": msg.ts,
                           "source": msg.source, "reason": "claimed-by-user-id"})

    def _new_profile(self, ts: int) -> ProfileState:
        state = ProfileState(id=new_profile_id(), counts=Counter(), created_ms=ts, is_new=True)
        self.profiles[state.id] = state
        return state

    def _assign(self, key: str, id_type: str, profile: ProfileState) -> None:
        self.owner[key] = profile.id
        self.members.setdefault(profile.id, set()).add(key)
        profile.counts[id_type] += 1
        self.touched.add(profile.id)

    def _newest_before(self, ids: list[Identifier]) -> tuple[int, int]:
        """The newest message the graph held, before this batch, on these identifiers or their
        profiles; and the newest a rule decided for on those profiles (-1: none)."""
        newest, decided = -1, -1
        for ident in ids:
            seen = self.seen_before.get(ident.key)
            if seen is not None and seen > newest:
                newest = seen
            pid = self.owner.get(ident.key)
            if pid is not None:
                profile = self.profiles[self._current(pid)]
                if profile.decided_at is not None and profile.decided_at > decided:
                    decided = profile.decided_at
                if profile.last_seen is not None and profile.last_seen > newest:
                    newest = profile.last_seen
        return newest, decided

    def plan_message(self, msg: PlannedMessage) -> None:
        ids = msg.identifiers
        anchor = ids[0]
        newest_before, decided_before = self._newest_before(ids) if len(ids) > 1 else (-1, -1)
        conflicts = len(self.refusals) + len(self.moves)
        accepted_keys: list[str] = []
        self.anchors[msg.message_id] = anchor.key
        self.anchor_ts.append((anchor.key, msg.ts, msg.source))
        # Units: an existing profile, or a lone identifier with none yet.
        accepted_profiles: list[ProfileState] = []
        accepted_new: list[Identifier] = []
        total: Counter = Counter()
        lifting = False
        for ident in ids:
            pid = self.owner.get(ident.key)
            if pid is not None and any(p.id == pid for p in accepted_profiles):
                if ident is not anchor:
                    self.evidence.append(Evidence(anchor.key, ident.key, msg.message_id, msg.ts, msg.source))
                    accepted_keys.append(ident.key)
                continue
            # The profile's counts are read, not copied: `add` only feeds _fits and total.update,
            # and _detach (which changes them) replaces it first.
            add = self.profiles[pid].counts if pid is not None else {ident.type: 1}
            reason = self._fits(total, add)
            lifted = False
            if reason is None and pid is not None and accepted_profiles:
                reason, lifted = self._split_block(self.profiles[pid], accepted_profiles, msg.ts)
            if reason is not None and self._claimable(ident, pid, reason, total):
                self._detach(ident, pid, msg)
                pid, add = None, {ident.type: 1}
                reason = self._fits(total, add)
            if reason is not None:
                self.refusals.append(Refusal(anchor.key, ident.key, msg.message_id, msg.ts, msg.source, reason))
                if pid is None:  # resolves separately, on a profile of its own
                    self._assign(ident.key, ident.type, self._new_profile(msg.ts))
                continue
            total.update(add)
            if pid is None:
                accepted_new.append(ident)
            else:
                accepted_profiles.append(self.profiles[pid])
                lifting = lifting or lifted
            if ident is not anchor:
                self.evidence.append(Evidence(anchor.key, ident.key, msg.message_id, msg.ts, msg.source))
                accepted_keys.append(ident.key)
        if anchor.type == USER_ID:
            # Only what joined: the graph's SEEN_WITH edges are what a later batch reads as this.
            for key in accepted_keys:
                self.direct_users.setdefault(key, set()).add(anchor.key)
        # Late where a rule decided: a rule decides for this message and the graph held a newer
        # one here, or a rule decided for a message here as new as this one or newer. In event-time
        # order this message might have decided otherwise, or changed what that one decided. (Where
        # no rule decides, joins are a union, whatever their order.) Ties count: one time is
        # ordered by messageId.
        decides = len(self.refusals) + len(self.moves) > conflicts
        if (decides and msg.ts <= newest_before) or msg.ts <= decided_before:
            self.late_conflicts.append({"messageId": msg.message_id, "ts": msg.ts, "source": msg.source,
                                        "keys": [i.key for i in ids]})

        if accepted_profiles:
            # The profile holding the most identifiers survives: fewest relationships to rewrite.
            survivor = max(accepted_profiles, key=lambda p: (sum(p.counts.values()), -p.created_ms, p.id))
        else:
            survivor = self._new_profile(msg.ts)
        for loser in accepted_profiles:
            if loser.id == survivor.id:
                continue
            reason = "evidence-after-split" if lifting else "evidence"
            self.merges.append(Merge(loser.id, survivor.id, msg.message_id, msg.ts, msg.source, reason))
            self.retired[loser.id] = survivor.id
            for other, at in loser.blocks.items():
                survivor.blocks[other] = max(at, survivor.blocks.get(other, at))
            if lifting:
                self.lift_blocks.add(survivor.id)
            moved = self.members.pop(loser.id, set())
            for k in moved:
                self.owner[k] = survivor.id
            self.members.setdefault(survivor.id, set()).update(moved)
            survivor.counts.update(loser.counts)
            loser.counts = Counter()
            del self.profiles[loser.id]
            self.touched.add(survivor.id)
        for ident in accepted_new:
            self._assign(ident.key, ident.type, survivor)

    def plan(self, messages: list[PlannedMessage]) -> WritePlan:
        # In event-time order, messages of one time by messageId (as a replay orders them), so a
        # batch's own order never decides a contested join.
        for msg in sorted(messages, key=lambda m: (m.ts, m.message_id)):
            self.plan_message(msg)
        return self._write_plan()

    def _write_plan(self) -> WritePlan:
        plan = WritePlan(anchors=self.anchors)
        plan.lift_blocks = sorted(self._current(p) for p in self.lift_blocks)
        live_new = {p.id for p in self.profiles.values() if p.is_new}
        final: dict[str, str] = {}
        for m in self.merges:  # chains within the batch collapse to the final survivor
            final[m.loser] = m.survivor
        def resolve(pid: str) -> str:
            while pid in final:
                pid = final[pid]
            return pid
        for pid in live_new:
            p = self.profiles[pid]
            plan.new_profiles.append({"id": pid, "createdAt": p.created_ms})
        for m in self.merges:
            if m.loser not in self.existing:  # created and merged away in this batch
                continue
            plan.merges.append({
                "loser": m.loser, "survivor": resolve(m.survivor), "messageId": m.message_id, "ts": m.ts, "source": m.source, "reason": m.reason,
            })
        for key in sorted(self.new_identifiers):
            plan.assignments.append({"key": key, "profile": self.owner[key]})
        # Per profile: [first seen, last seen, events, sources] of the messages anchored on it.
        seen: dict[str, list] = {}
        owner = self.owner
        for key, ts, source in self.anchor_ts:
            pid = owner[key]
            window = seen.get(pid)
            if window is None:
                seen[pid] = [ts, ts, 1, {source}]
                continue
            if ts < window[0]:
                window[0] = ts
            elif ts > window[1]:
                window[1] = ts
            window[2] += 1
            window[3].add(source)
        count_fields = [(f"n_{t}", t) for t in self.rules.rules]
        for pid in sorted((self.touched & self.profiles.keys()) | seen.keys()):
            c = self.profiles[pid].counts
            window = seen.get(pid) or [None, None, 0, ()]
            update = {"id": pid, "firstSeen": window[0], "lastSeen": window[1], "events": window[2],
                      "sources": sorted(window[3])}
            for name, id_type in count_fields:
                update[name] = c[id_type]
            plan.profile_updates.append(update)
        plan.owner = dict(self.owner)
        plan.moves = [{**m, "from": self._current(m["from"]), "to": self.owner[m["key"]]} for m in self.moves]
        plan.evidence = [vars(e) for e in self.evidence]
        plan.late_conflicts = self.late_conflicts
        decided: dict[str, int] = {}
        for pid, ts in [(self._current(self.owner[k]), r.ts) for r in self.refusals for k in (r.a, r.b)] + \
                       [(m[end], m["ts"]) for m in plan.moves for end in ("from", "to")]:
            decided[pid] = max(ts, decided.get(pid, ts))
        plan.decided = [{"id": pid, "at": at} for pid, at in sorted(decided.items())]
        plan.refusals = [vars(r) for r in self.refusals]
        return plan
