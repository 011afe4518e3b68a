"""The merge planner over a snapshot, without a database: what it writes for each profile."""
from __future__ import annotations

import uuid
from collections import Counter

from app.identity.planner import MergePlanner, PlannedMessage, ProfileState, new_profile_id
from app.identity.rules import Identifier, IdentityRules
from app.settings import Settings

RULES = IdentityRules(Settings())
NO_IDS = {"n_user_id": 0, "n_email": 0, "n_phone": 0}


def test_profile_ids_are_distinct_version_4_uuids_in_their_usual_text():
    ids = [new_profile_id() for _ in range(5000)]
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122


def test_a_profiles_update_spans_its_messages_whatever_their_order():
    device, fresh = Identifier("anonymous_id", "d1"), Identifier("anonymous_id", "d2")
    owner = {device.key: "p1", fresh.key: None}
    profiles = {"p1": ProfileState("p1", Counter(anonymous_id=1), created_ms=5)}
    plan = MergePlanner(RULES, owner, profiles).plan([
        PlannedMessage("m1", [device], 300, "web"),
        PlannedMessage("m2", [device], 100, "mobile"),
        PlannedMessage("m3", [device], 200, "web"),
        PlannedMessage("m4", [fresh], 50, "server"),
    ])
    updates = {u["id"]: u for u in plan.profile_updates}
    assert updates["p1"] == {"id": "p1", "firstSeen": 100, "lastSeen": 300, "events": 3,
                             "sources": ["mobile", "web"], **NO_IDS, "n_anonymous_id": 1}
    new = plan.owner[fresh.key]
    assert updates[new] == {"id": new, "firstSeen": 50, "lastSeen": 50, "events": 1, "sources": ["server"],
                            **NO_IDS, "n_anonymous_id": 1}
    assert plan.new_profiles == [{"id": new, "createdAt": 50}]
    assert [u["id"] for u in plan.profile_updates] == sorted(updates)


def test_a_profile_that_only_loses_an_identifier_is_updated_without_a_window():
    # B's email reached B's profile through a shared device only; A's user id now presents it and
    # claims it. B's profile is rewritten (one email fewer) though no message of this batch is its.
    a, email = Identifier("user_id", "ua"), Identifier("email", "e@x.org")
    owner = {a.key: "pA", email.key: "pB"}
    profiles = {"pA": ProfileState("pA", Counter(user_id=1), created_ms=1),
                "pB": ProfileState("pB", Counter(user_id=1, email=1), created_ms=2)}
    plan = MergePlanner(RULES, owner, profiles).plan([PlannedMessage("m1", [a, email], 10, "web")])
    updates = {u["id"]: u for u in plan.profile_updates}
    assert updates["pB"] == {"id": "pB", "firstSeen": None, "lastSeen": None, "events": 0, "sources": [],
                             "n_user_id": 1, "n_email": 0, "n_phone": 0, "n_anonymous_id": 0}
    assert updates["pA"]["n_email"] == 1 and updates["pA"]["events"] == 1
    assert plan.owner[email.key] == "pA"
    assert [(m["key"], m["from"], m["to"]) for m in plan.moves] == [(email.key, "pB", "pA")]


def test_a_device_borne_phone_is_claimed_whatever_order_the_profiles_counts_were_built_in():
    """The claim reads the limit a join breaks: the user id's, when both it and the email limit are
    broken, however the profile's counts were built (in a replay, emails may come first)."""
    email, phone, device = Identifier("email", "e0@mail.io"), Identifier("phone", "+14155550102"), \
        Identifier("anonymous_id", "a0")
    owner = {email.key: "mine", phone.key: "shared", device.key: "shared"}
    for shared_counts in (Counter({"email": 5, "user_id": 1, "phone": 1, "anonymous_id": 1}),
                          Counter({"user_id": 1, "email": 5, "phone": 1, "anonymous_id": 1})):
        profiles = {"mine": ProfileState("mine", Counter({"user_id": 1, "email": 1}), created_ms=1),
                    "shared": ProfileState("shared", shared_counts, created_ms=2)}
        plan = MergePlanner(RULES, owner, profiles).plan([PlannedMessage("m", [email, phone, device], 10, "web")])
        assert plan.owner[phone.key] == "mine" and plan.moves[0]["reason"] == "claimed-by-user-id"
        assert [r["reason"] for r in plan.refusals] == ["limit:user_id:1"]


def test_a_batch_is_planned_in_event_time_order_and_a_late_conflict_is_reported():
    ann, bob, device = Identifier("user_id", "ann"), Identifier("user_id", "bob"), Identifier("anonymous_id", "d")
    fresh = {ann.key: None, bob.key: None, device.key: None}
    plan = MergePlanner(RULES, fresh, {}).plan([PlannedMessage("later", [bob, device], 200, "web"),
                                                PlannedMessage("first", [ann, device], 100, "web")])
    assert plan.owner[device.key] == plan.owner[ann.key] != plan.owner[bob.key]
    assert plan.late_conflicts == []  # nothing was in the graph before the batch

    # The device's profile already held a message from 300 when Ann's (at 100) arrives: late.
    owner = {ann.key: None, device.key: "bobs"}
    profiles = {"bobs": ProfileState("bobs", Counter({"user_id": 1, "anonymous_id": 1}), created_ms=300,
                                     last_seen=300)}
    plan = MergePlanner(RULES, owner, profiles, seen_before={device.key: 300}).plan(
        [PlannedMessage("first", [ann, device], 100, "web")])
    assert [c["messageId"] for c in plan.late_conflicts] == ["first"]
    assert plan.decided == sorted([{"id": "bobs", "at": 100}, {"id": plan.owner[ann.key], "at": 100}],
                                  key=lambda d: d["id"])
    # On time, the same refusal is not late.
    plan = MergePlanner(RULES, owner, profiles, seen_before={device.key: 300}).plan(
        [PlannedMessage("after", [ann, device], 400, "web")])
    assert plan.late_conflicts == [] and len(plan.refusals) == 1
    # A message that no rule decides for is late only against a decision: older than the last one
    # on a profile it meets (here at 250), not merely older than the profile's newest message.
    other = Identifier("anonymous_id", "d2")
    profiles = {"bobs": ProfileState("bobs", Counter({"user_id": 1, "anonymous_id": 1}), created_ms=1,
                                     last_seen=300, decided_at=250)}
    for ts, late in ((260, False), (250, True), (100, True)):
        plan = MergePlanner(RULES, {device.key: "bobs", other.key: None}, profiles,
                            seen_before={device.key: 300}).plan([PlannedMessage("m", [device, other], ts, "web")])
        assert bool(plan.late_conflicts) is late, ts
