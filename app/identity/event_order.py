"""Resolve a component of the identity graph again, in event-time order.

Where a rule refuses a join (a limit, the shared-device claim), the first message to ask for a
contested identifier wins it. Delivered in order, that is the earliest message by event time; a
message delivered late would lose to a newer one that happened to arrive first. The planner reports
such late conflicts (WritePlan.late_conflicts); for each, the component of its identifiers (those
linked by SEEN_WITH or REFUSED_WITH edges, and those sharing a profile) is replayed: its stored
messages that carry two of its identifiers or more, oldest first (ties by messageId), through the
same MergePlanner, from an empty graph. The replay's partition is applied:
identifiers move (MOVED_FROM, reason `event-order`), a profile left with none retires into the one
that took most of them (MERGED_INTO), a group no profile holds gets a new one, counts and roll-ups
are re-derived, and each edge's kind (joined or refused) follows the replay. Events never move.

Which late messages need this: one a rule decides for (a refusal, a claim) when the graph held a
newer message on its identifiers or their profiles, and any message with two identifiers or more
that is no newer than the last message a rule decided for on a profile it meets (`p.decidedAt`):
in event-time order it might have changed that decision. Where no rule decides, joins are a plain
union and order cannot matter.

An alias's previousId is replayed as the key ingest gave it when it arrived (typed against what
the graph knew then): the one of user id and device id the component holds.

A component with a manual split in it is left as it is (the split is an operator's decision the
replay would not know), one past MAX_COMPONENT_IDENTIFIERS (a kiosk's device met by thousands of
users) or MAX_COMPONENT_EVENTS (the replay runs in the ingest writer, after its commit), and one
holding an identifier no stored message yields under the current rules (a value blocked since):
each is counted, and `cdp resolve-again` takes larger caps.
"""
from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import orjson
from neo4j import Driver, ManagedTransaction

from app import metrics
from app.db import Rows, in_one_statement, query
from app.identity.planner import MergePlanner, PlannedMessage, new_profile_id
from app.identity.profile_state import rederive
from app.identity.rules import (
    ANONYMOUS_ID,
    IDENTIFIER_TYPES,
    USER_ID,
    Identifier,
    IdentityRules,
    extract_identifiers,
)

log = logging.getLogger("cdp.identity")

MAX_COMPONENT_IDENTIFIERS = 2_000
MAX_COMPONENT_EVENTS = 20_000  # the replay reads the component's events that link identifiers
JOINED, REFUSED = "SEEN_WITH", "REFUSED_WITH"


@dataclass
class Reresolution:
    outcome: str  # changed, unchanged, skipped_split, skipped_size, skipped_rules, failed
    keys: list[str] = field(default_factory=list)
    moved: int = 0
    new_profiles: int = 0
    edges_changed: int = 0
    live_profiles: set[str] = field(default_factory=set)  # changed and live
    retired: dict[str, str] = field(default_factory=dict)  # loser -> survivor
    owners: dict[str, str] = field(default_factory=dict)  # every key of the component -> its profile


def resolve_late_conflicts(driver: Driver, database: str, rules: IdentityRules,
                           conflicts: list[dict]) -> list[Reresolution]:
    """Each late conflict's component, once (two conflicts in one component share a replay)."""
    done: set[str] = set()
    out = []
    for conflict in conflicts:
        if done.issuperset(conflict["keys"]):
            continue
        change = resolve_safely(driver, database, rules, conflict["keys"], conflict)
        done.update(change.keys)
        out.append(change)
    return out


def resolve_safely(driver: Driver, database: str, rules: IdentityRules, seeds: Iterable[str], cause: dict,
                   **caps: int) -> Reresolution:
    """resolve_component, with a failure logged and counted rather than raised: what it repairs is
    committed already, and `cdp resolve-again` can repeat it."""
    try:
        return resolve_component(driver, database, rules, seeds, cause, **caps)
    except Exception:  # repair work on top of a committed batch: logged and counted
        metrics.REORDERED_COMPONENTS.labels("failed").inc()
        log.exception("resolving a component again in event-time order failed",
                      extra={"fields": {"messageId": cause.get("messageId")}})
        return Reresolution("failed", keys=sorted(set(seeds)))


def resolve_component(driver: Driver, database: str, rules: IdentityRules, seeds: Iterable[str],
                      cause: dict, max_identifiers: int = MAX_COMPONENT_IDENTIFIERS,
                      max_events: int = MAX_COMPONENT_EVENTS) -> Reresolution:
    """`cause`: the message the moves and retirements are recorded against (messageId, ts, source)."""
    seeds = sorted(set(seeds))

    def work(tx: ManagedTransaction) -> Reresolution:
        keys, complete = _component(tx, seeds, max_identifiers)
        if not complete:
            return Reresolution("skipped_size", keys=keys)
        while True:  # lock, then make sure nothing joined the component before the locks were taken
            profiles = tx.run(query("identity/component_lock"), keys=keys).single()["profiles"]
            tx.run(query("identity/lock_profiles"), profiles=sorted(profiles)).consume()
            grown = _neighbours(tx, keys) - set(keys)
            if not grown:
                break
            keys = sorted(set(keys) | grown)
            if len(keys) > max_identifiers:
                return Reresolution("skipped_size", keys=keys)
        rows = [dict(r) for r in tx.run(query("identity/component_state"), keys=keys)]
        if any(r["split"] for r in rows):
            return Reresolution("skipped_split", keys=keys)
        if sum({r["profile"]: r["events"] or 0 for r in rows}.values()) > max_events:
            return Reresolution("skipped_size", keys=keys)
        events = [dict(e) for e in tx.run(query("identity/component_messages"), keys=keys)]
        first_seen = {r["key"]: r["firstSeen"] for r in rows}
        linked = {frozenset((r["key"], e["to"])) for r in rows for e in r["edges"]}
        messages = replay_messages(events, first_seen, rules, linked)
        if {i.key for m in messages for i in m.identifiers} != set(keys):
            return Reresolution("skipped_rules", keys=keys)  # a key no stored message yields now
        return _apply(tx, rules, rows, messages, first_seen, cause)

    with driver.session(database=database) as session:
        change = session.execute_write(work)
    metrics.REORDERED_COMPONENTS.labels(change.outcome).inc()
    if change.outcome != "unchanged":
        log.info("component resolved again in event-time order", extra={"fields": {
            "outcome": change.outcome, "identifiers": len(change.keys), "moved": change.moved,
            "retired": len(change.retired), "newProfiles": change.new_profiles, "messageId": cause.get("messageId")}})
    return change


def _neighbours(tx: ManagedTransaction, keys: list[str]) -> set[str]:
    return set(tx.run(query("identity/component_neighbours"), keys=keys).single()["keys"])


def _component(tx: ManagedTransaction, seeds: list[str], cap: int) -> tuple[list[str], bool]:
    """Every identifier reachable from the seeds, breadth first, and whether that is all of them
    (False: the search stopped past `cap`, with what it had found)."""
    seen = set(seeds)
    frontier = list(seeds)
    while frontier:
        found = _neighbours(tx, frontier) - seen
        seen |= found
        if len(seen) > cap:
            return sorted(seen), False
        frontier = sorted(found)
    return sorted(seen), True


def _previous_id(previous: str, found: list[Identifier], first_seen: dict[str, int | None],
                 linked: set[frozenset], ts: int, rules: IdentityRules) -> Identifier:
    """The key ingest gave an alias's previousId: the one of user id and device id the component
    holds; if it holds both, the one an edge links to the alias's user id; failing that, the user
    id if it was seen no later than the alias."""
    as_user, as_device = Identifier(USER_ID, previous), Identifier(ANONYMOUS_ID, previous)
    if (as_user.key in first_seen) != (as_device.key in first_seen):
        return as_user if as_user.key in first_seen else as_device
    anchor = rules.ordered(found)[0].key if found else None
    to_user, to_device = frozenset((anchor, as_user.key)) in linked, frozenset((anchor, as_device.key)) in linked
    if to_user != to_device:
        return as_user if to_user else as_device
    known = first_seen.get(as_user.key)
    return as_user if known is not None and known <= ts else as_device


def replay_messages(events: list[dict], first_seen: dict[str, int | None], rules: IdentityRules,
                    linked: set[frozenset] = frozenset()) -> list[PlannedMessage]:
    """The component's stored messages with two of its identifiers or more (the planner takes them
    oldest first, ties by messageId), each with the identifiers ingest gave it: extracted again under the rules, less any
    the graph no longer holds (erased, or stripped from the message). An alias's previousId is the
    key ingest gave it (`_previous_id`). `linked`: the pairs of identifiers an edge links."""
    keys = first_seen.keys()
    messages = []
    for e in events:
        message = {"type": e["type"], "userId": e["userId"], "anonymousId": e["anonymousId"],
                   **{name: _json(e[name]) for name in ("traits", "context", "properties")}}
        found, _ = extract_identifiers(rules, message)
        if e["type"] == "alias" and e["previousId"] is not None:
            previous = rules.normalise(ANONYMOUS_ID, e["previousId"])
            if previous is not None:
                found.append(_previous_id(previous, found, first_seen, linked, e["ts"], rules))
        ids = rules.ordered([i for i in found if i.key in keys])
        if len(ids) > 1:
            messages.append(PlannedMessage(e["messageId"], ids, e["ts"], e["source"] or ""))
    return messages


def _json(text: str | None) -> object:
    if text is None:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None


def _replay(rows: list[dict], messages: list[PlannedMessage],
            rules: IdentityRules) -> tuple[list[set[str]], dict[frozenset, dict], dict[str, int]]:
    """The replay's groups of identifiers, per pair what it decided ({kinds, reason}), and per
    group (by its smallest key) the newest message a rule decided for there (the plan's `decided`,
    as ingest marks it)."""
    plan = MergePlanner(rules, {r["key"]: None for r in rows}, {}).plan(messages)
    groups: dict[str, set[str]] = {}
    for r in rows:
        groups.setdefault(plan.owner[r["key"]], set()).add(r["key"])
    decided: dict[frozenset, dict] = {}
    for e in plan.evidence:
        decided.setdefault(frozenset((e["a"], e["b"])), {"kinds": set(), "reason": None})["kinds"].add(JOINED)
    for f in plan.refusals:
        d = decided.setdefault(frozenset((f["a"], f["b"])), {"kinds": set(), "reason": None})
        d["kinds"].add(REFUSED)
        d["reason"] = f["reason"]
    decided_at = {min(groups[d["id"]]): d["at"] for d in plan.decided if d["id"] in groups}
    return sorted(groups.values(), key=min), decided, decided_at


def _apply(tx: ManagedTransaction, rules: IdentityRules, rows: list[dict], messages: list[PlannedMessage],
           first_seen: dict[str, int | None], cause: dict) -> Reresolution:
    """The replay's partition written with ingest's own steps (cypher/ingest), in one statement:
    new profiles, the moves, the emptied profiles' retirement, counts, decision times."""
    keys = sorted(r["key"] for r in rows)
    current = {r["key"]: r["profile"] for r in rows}
    created = {r["profile"]: r["createdAt"] or 0 for r in rows}
    held: dict[str, set[str]] = {}
    for key, pid in current.items():
        held.setdefault(pid, set()).add(key)
    groups, decided, decided_at = _replay(rows, messages, rules)

    # Each group keeps the profile that holds its user id (a person keeps their profile id, which
    # destinations know them by), else the one holding most of it, the oldest on a tie; each
    # profile keeps one group at most.
    types = {r["key"]: r["type"] for r in rows}
    pairs = sorted((-sum(types[k] == USER_ID for k in g & held[pid]), -len(g & held[pid]), created[pid], pid, n)
                   for n, g in enumerate(groups) for pid in {current[k] for k in g})
    assigned: dict[int, str] = {}
    for *_, pid, n in pairs:
        if n not in assigned and pid not in assigned.values():
            assigned[n] = pid
    new_rows = []
    for n, g in enumerate(groups):
        if n not in assigned:
            assigned[n] = new_profile_id()
            seen = [first_seen[k] for k in g if first_seen[k] is not None]
            new_rows.append({"id": assigned[n], "createdAt": min(seen) if seen else cause["ts"], "keys": []})
    target = {k: assigned[n] for n, g in enumerate(groups) for k in g}
    moves = [{"key": k, "from": current[k], "to": target[k]} for k in keys if current[k] != target[k]]
    kept = set(assigned.values())
    retired = {}
    for pid, members in held.items():
        if pid not in kept:
            took = Counter(target[k] for k in members)
            retired[pid] = max(took, key=lambda p: (took[p], p))

    conversions = _edge_conversions(rows, decided)
    outcome = "changed" if moves else "unchanged"
    record = {"ts": cause["ts"], "messageId": cause["messageId"], "source": cause["source"], "reason": "event-order"}
    live = ({m["from"] for m in moves} | {m["to"] for m in moves}) - retired.keys()
    # A component's profiles hold only its identifiers (the search follows shared profiles): counts
    # from the new partition are the profiles' counts.
    counts = {pid: Counter(types[k] for k, p in target.items() if p == pid) for pid in live}
    steps, batch = [], Rows()
    for name, param, value in (
            ("ingest/create_profiles", "profiles", new_rows),
            ("ingest/move_identifiers", "moves", [{**m, **record} for m in moves]),
            ("ingest/assign_identifiers", "assignments", [{"key": m["key"], "profile": m["to"]} for m in moves]),
            ("ingest/merge_profiles", "merges", [{"loser": k, "survivor": v, **record} for k, v in sorted(retired.items())]),
            ("ingest/update_profiles", "profileUpdates",
             [{"id": pid, "events": 0, "sources": [], "firstSeen": None, "lastSeen": None,
               **{f"n_{t}": c[t] for t in IDENTIFIER_TYPES}} for pid, c in sorted(counts.items())]),
            ("ingest/mark_decided", "decided", [{"id": target[k], "at": at} for k, at in sorted(decided_at.items())])):
        if value:
            steps.append(name)
            batch[param] = value
    if steps:
        tx.run(in_one_statement(tuple(steps)), batch=batch).consume()
    if conversions["joined"] or conversions["refused"]:
        tx.run(query("identity/reorder_edges"), joined=conversions["joined"],
               refused=conversions["refused"]).consume()
    for pid in sorted(live):
        rederive(tx, pid)  # events, sources, traits and the seen window, from the events now there
    return Reresolution(outcome, keys=keys, moved=len(moves), new_profiles=len(new_rows),
                        edges_changed=len(conversions["joined"]) + len(conversions["refused"]),
                        live_profiles=live, retired=retired, owners=target)


def _edge_conversions(rows: list[dict], decided: dict[frozenset, dict]) -> dict[str, list[dict]]:
    """Stored edges whose kind the replay decided the other way (it decided one kind only)."""
    joined, refused = [], []
    for r in rows:
        for e in r["edges"]:
            d = decided.get(frozenset((r["key"], e["to"])))
            if d is None or len(d["kinds"]) != 1:
                continue
            a, b = sorted((r["key"], e["to"]))
            if e["kind"] == REFUSED and d["kinds"] == {JOINED}:
                joined.append({"a": a, "b": b})
            elif e["kind"] == JOINED and d["kinds"] == {REFUSED}:
                refused.append({"a": a, "b": b, "reason": d["reason"]})
    return {"joined": joined, "refused": refused}
