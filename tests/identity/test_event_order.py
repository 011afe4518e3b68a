"""Where a rule refuses a join, late messages still end in the in-order graph: a late message that a
rule decided for (or that is no newer than a rule's last decision on a profile it meets) has its
component resolved again in event-time order (app/identity/event_order.py)."""
from __future__ import annotations

import itertools
import json

import pytest
from typer.testing import CliRunner

from app import metrics
from app.cli import app as cdp_app
from app.identity.event_order import resolve_component
from app.identity.rules import IdentityRules
from app.identity.split import split_profile
from app.identity.store import IdentityStore
from tests.conftest import wipe
from tests.helpers import assert_invariants, count, partition
from tests.identity.factory import ingest, msg

ANN_FIRST = msg("track", messageId="eo-ann", userId="ann", anonymousId="dev", timestamp="2026-01-01T00:00:00Z")
BOB_LATER = msg("track", messageId="eo-bob", userId="bob", anonymousId="dev", timestamp="2026-01-02T00:00:00Z")
DEVICE_EMAIL = msg("identify", messageId="eo-dev", anonymousId="dev", traits={"email": "ann@mail.io", "name": "Ann"},
                   timestamp="2026-01-03T00:00:00Z")
IN_ORDER = {frozenset({"user_id:ann", "anonymous_id:dev", "email:ann@mail.io"}), frozenset({"user_id:bob"})}


def _outcomes() -> dict[str, float]:
    return {o: metrics.REORDERED_COMPONENTS.labels(o)._value.get()
            for o in ("changed", "unchanged", "skipped_split", "skipped_size", "failed")}


def _profile_of(driver, key: str) -> dict:
    records, _, _ = driver.execute_query(
        "MATCH (:Identifier {key: $key})-[:BELONGS_TO]->(p:Profile) RETURN properties(p) AS p", key=key)
    return records[0]["p"]


def _edge_kinds(driver) -> dict[frozenset, set[str]]:
    records, _, _ = driver.execute_query(
        "MATCH (a:Identifier)-[r:SEEN_WITH|REFUSED_WITH]->(b:Identifier) RETURN a.key AS a, b.key AS b, type(r) AS t")
    out: dict[frozenset, set[str]] = {}
    for r in records:
        out.setdefault(frozenset((r["a"], r["b"])), set()).add(r["t"])
    return out


def test_two_sign_ins_on_one_device_end_the_same_in_all_six_delivery_orders(store, settings, driver):
    for order in itertools.permutations([ANN_FIRST, BOB_LATER, DEVICE_EMAIL]):
        wipe(driver)
        for m in order:
            ingest(store, settings, [m])
        assert partition(driver) == IN_ORDER, [m["messageId"] for m in order]
        assert_invariants(driver)
        assert count(driver, "MATCH (e:Event) RETURN count(e)") == 3


def test_a_late_sign_in_takes_the_device_back_with_its_events_traits_and_edges(store, settings, driver):
    before = _outcomes()
    ingest(store, settings, [BOB_LATER])
    ingest(store, settings, [DEVICE_EMAIL])
    bob = _profile_of(driver, "user_id:bob")
    assert bob["t.name"] == "Ann" and bob["eventCount"] == 2  # arrival order: the device went to Bob

    result = ingest(store, settings, [ANN_FIRST])
    assert [c["messageId"] for c in result.late_conflicts] == ["eo-ann"]
    assert [r.outcome for r in result.reresolved] == ["changed"]
    assert partition(driver) == IN_ORDER
    assert_invariants(driver)
    ann, bob = _profile_of(driver, "user_id:ann"), _profile_of(driver, "user_id:bob")
    # The device's identify (and its trait) moved with the device; Bob keeps his own sign-in.
    assert (ann["eventCount"], ann.get("t.name"), ann["n_anonymous_id"], ann["n_email"]) == (2, "Ann", 1, 1)
    assert (bob["eventCount"], "t.name" in bob, bob["n_anonymous_id"], bob["n_email"]) == (1, False, 0, 0)
    # The replay's last decision (Bob refused the device, day 2) is when both were last decided.
    assert ann["firstSeen"] < bob["firstSeen"] and ann["decidedAt"] == bob["decidedAt"] == bob["firstSeen"]
    # The segment upkeep and the writers' memory hear of both profiles.
    assert {ann["id"], bob["id"]} <= result.touched_profiles
    assert result.owners["anonymous_id:dev"] == ann["id"]
    # The edges say what the event-order graph decided: Ann joined the device, Bob was refused it.
    kinds = _edge_kinds(driver)
    assert kinds[frozenset({"user_id:ann", "anonymous_id:dev"})] == {"SEEN_WITH"}
    assert kinds[frozenset({"user_id:bob", "anonymous_id:dev"})] == {"REFUSED_WITH"}
    records, _, _ = driver.execute_query(
        "MATCH (i:Identifier)-[m:MOVED_FROM]->(p:Profile) RETURN i.key AS key, p.id AS left, m.to AS to, "
        "m.reason AS reason, m.messageId AS messageId ORDER BY key")
    assert [dict(r) for r in records] == [
        {"key": k, "left": bob["id"], "to": ann["id"], "reason": "event-order", "messageId": "eo-ann"}
        for k in ("anonymous_id:dev", "email:ann@mail.io")]
    after = _outcomes()
    assert after["changed"] == before["changed"] + 1 and after["failed"] == before["failed"]


def test_each_user_keeps_their_profile_id_whatever_the_arrival_order(store, settings, driver):
    # The device's email, then Bob's sign-in, arrive first: Bob's profile holds the device and the
    # email. Ann's earlier sign-in arrives last: in event order the device and the email are hers;
    # they move to her profile, and Bob keeps his.
    ingest(store, settings, [DEVICE_EMAIL])
    ingest(store, settings, [BOB_LATER])
    bob_before = _profile_of(driver, "user_id:bob")["id"]
    result = ingest(store, settings, [ANN_FIRST])
    assert [r.outcome for r in result.reresolved] == ["changed"] and result.reresolved[0].moved == 2
    assert partition(driver) == IN_ORDER
    assert_invariants(driver)
    ann, bob = _profile_of(driver, "user_id:ann"), _profile_of(driver, "user_id:bob")
    assert bob["id"] == bob_before and result.retired == {}
    assert (ann["eventCount"], bob["eventCount"]) == (2, 1)


def test_a_batch_in_any_order_is_planned_oldest_first(store, settings, driver):
    result = ingest(store, settings, [BOB_LATER, DEVICE_EMAIL, ANN_FIRST])
    assert result.reresolved == [] and result.late_conflicts == []
    assert partition(driver) == IN_ORDER


def test_in_order_delivery_replays_nothing_and_a_replay_of_an_in_order_graph_changes_nothing(
        store, settings, driver):
    for m in (ANN_FIRST, BOB_LATER, DEVICE_EMAIL):
        assert ingest(store, settings, [m]).reresolved == []
    # Newer than the last decision (Bob refused the device at day 2), older than the device's
    # newest message: no rule could have decided otherwise, so nothing is replayed.
    between = msg("track", messageId="eo-between", userId="ann", anonymousId="dev", timestamp="2026-01-02T12:00:00Z")
    assert ingest(store, settings, [between]).reresolved == []
    # Older than the decision: replayed, and arrival order had already made the event-order graph.
    late = msg("track", messageId="eo-late", userId="ann", anonymousId="dev", timestamp="2026-01-01T12:00:00Z")
    result = ingest(store, settings, [late])
    assert [r.outcome for r in result.reresolved] == ["unchanged"]
    assert partition(driver) == IN_ORDER
    assert count(driver, "MATCH ()-[m:MOVED_FROM]->() RETURN count(m)") == 0


def test_an_alias_replays_as_ingest_typed_it_when_it_arrived(store, settings, driver):
    # In order: the alias names u1 before u1 was ever seen, so u1 is a device id there; u1's own
    # sign-in on the alias's device is then refused.
    ingest(store, settings, [msg("alias", messageId="al-1", userId="u2", previousId="u1", anonymousId="d1",
                                 timestamp="2026-01-01T00:00:00Z")])
    ingest(store, settings, [msg("identify", messageId="al-2", userId="u1", anonymousId="d1",
                                 timestamp="2026-01-02T00:00:00Z")])
    in_order = partition(driver)
    assert in_order == {frozenset({"user_id:u2", "anonymous_id:d1", "anonymous_id:u1"}), frozenset({"user_id:u1"})}
    # A late message on those profiles replays the component: the same graph.
    result = ingest(store, settings, [msg("track", messageId="al-3", userId="u2", anonymousId="d1",
                                          timestamp="2026-01-01T12:00:00Z")])
    assert [r.outcome for r in result.reresolved] == ["unchanged"] and partition(driver) == in_order


def test_a_component_holding_a_value_blocked_since_is_left_alone(store, settings, driver):
    ingest(store, settings, [BOB_LATER])
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(IdentityStore, "_resolve_late_conflicts", lambda self, result: None)
        ingest(store, settings, [ANN_FIRST])
    arrival = partition(driver)
    stricter = IdentityRules(settings.model_copy(update={"blocked_values": [*settings.blocked_values, "dev"]}))
    cause = {"messageId": "eo-ann", "ts": 0, "source": "web"}
    change = resolve_component(driver, settings.neo4j_database, stricter, ["user_id:ann"], cause)
    assert change.outcome == "skipped_rules" and partition(driver) == arrival
    assert_invariants(driver)


def test_a_component_with_a_manual_split_is_left_as_arrival_made_it(store, settings, driver):
    ingest(store, settings, [BOB_LATER])
    ingest(store, settings, [DEVICE_EMAIL])
    bob = _profile_of(driver, "user_id:bob")
    split_profile(driver, settings.neo4j_database, bob["id"], ["email:ann@mail.io"], "operator")
    before = partition(driver)
    result = ingest(store, settings, [ANN_FIRST])
    assert [r.outcome for r in result.reresolved] == ["skipped_split"]
    assert partition(driver) == before | {frozenset({"user_id:ann"})}
    assert_invariants(driver)


def test_a_component_past_the_size_cap_is_left_alone(store, settings, driver):
    ingest(store, settings, [BOB_LATER])
    ingest(store, settings, [DEVICE_EMAIL])
    with pytest.MonkeyPatch.context() as mp:  # the ingest path's own replay off: the cap is tested alone
        mp.setattr(IdentityStore, "_resolve_late_conflicts", lambda self, result: None)
        ingest(store, settings, [ANN_FIRST])
    arrival = partition(driver)
    cause = {"messageId": "eo-ann", "ts": 0, "source": "web"}
    change = resolve_component(driver, settings.neo4j_database, store.rules, ["user_id:ann"], cause,
                               max_identifiers=3)
    assert change.outcome == "skipped_size" and partition(driver) == arrival
    change = resolve_component(driver, settings.neo4j_database, store.rules, ["user_id:ann"], cause)
    assert change.outcome == "changed" and partition(driver) == IN_ORDER


def test_cdp_resolve_again_repairs_a_graph_written_in_arrival_order(store, settings, driver, cdp_env, monkeypatch):
    # As a graph written before ingest resolved late conflicts: no replay, no decision times.
    monkeypatch.setattr(IdentityStore, "_resolve_late_conflicts", lambda self, result: None)
    for m in (BOB_LATER, DEVICE_EMAIL, ANN_FIRST):
        ingest(store, settings, [m])
    ingest(store, settings, [msg("identify", messageId="eo-solo", userId="cy", traits={"email": "cy@mail.io"})])
    driver.execute_query("MATCH (p:Profile) REMOVE p.decidedAt")
    assert partition(driver) != IN_ORDER | {frozenset({"user_id:cy", "email:cy@mail.io"})}

    run = CliRunner().invoke(cdp_app, ["resolve-again", "--json"])
    assert run.exit_code == 0, run.output
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert summary["components"] == 1 and summary["outcomes"] == {"changed": 1} and summary["moved"] == 2
    assert partition(driver) == IN_ORDER | {frozenset({"user_id:cy", "email:cy@mail.io"})}
    assert_invariants(driver)

    again = json.loads(CliRunner().invoke(cdp_app, ["resolve-again", "--json"]).stdout.strip().splitlines()[-1])
    assert again["outcomes"] == {"unchanged": 1} and again["moved"] == 0


def test_a_group_no_newer_than_a_decision_is_planned_from_the_snapshot(store, settings, driver):
    ingest(store, settings, [ANN_FIRST])
    ingest(store, settings, [BOB_LATER])  # refused the device: a decision at day 2 on both profiles
    assert _profile_of(driver, "user_id:bob")["decidedAt"] == _profile_of(driver, "user_id:ann")["decidedAt"]
    planned = metrics.KNOWN_OWNER_GROUPS.labels("planned_from_snapshot")._value.get()
    written = metrics.KNOWN_OWNER_GROUPS.labels("written")._value.get()
    # Ann's device, remembered on her profile, in a message from before the decision: the guess
    # is not taken (the planner must see whether it is late there).
    ingest(store, settings, [msg("track", messageId="eo-before", anonymousId="dev", timestamp="2026-01-01T06:00:00Z")])
    assert metrics.KNOWN_OWNER_GROUPS.labels("planned_from_snapshot")._value.get() == planned + 1
    assert metrics.KNOWN_OWNER_GROUPS.labels("written")._value.get() == written
    # After it: written on the remembered owner, in two round trips as before.
    ingest(store, settings, [msg("track", messageId="eo-after", anonymousId="dev", timestamp="2026-01-05T00:00:00Z")])
    assert metrics.KNOWN_OWNER_GROUPS.labels("written")._value.get() == written + 1


def test_an_alias_in_a_batch_types_its_previous_id_in_event_time_order(store, settings, driver):
    identify = msg("identify", messageId="ab-1", userId="x", anonymousId="d", timestamp="2026-01-01T00:00:05Z")
    alias = msg("alias", messageId="ab-2", userId="b", previousId="x", timestamp="2026-01-01T00:00:10Z")
    for batch in ([identify, alias], [alias, identify]):
        wipe(driver)
        result = ingest(store, settings, batch)
        # x is a user id by the alias's time: the alias would join two user ids, and is refused.
        assert partition(driver) == {frozenset({"user_id:x", "anonymous_id:d"}), frozenset({"user_id:b"})}
        assert result.refusals == 1


def test_a_replay_keeps_the_device_id_an_alias_was_given_on_arrival(store, settings, driver):
    # The alias arrives before x's own (older) sign-in: x is a device id there, for good. The late
    # sign-in is refused the shared device d on arrival; the replay gives d to x, its first user, and
    # keeps the alias's device id x with b (in-order delivery would have refused the alias instead).
    ingest(store, settings, [msg("alias", messageId="aa-1", userId="b", previousId="x", anonymousId="d",
                                 timestamp="2026-01-01T00:00:10Z")])
    result = ingest(store, settings, [msg("identify", messageId="aa-2", userId="x", anonymousId="d",
                                          timestamp="2026-01-01T00:00:05Z")])
    assert [r.outcome for r in result.reresolved] == ["changed"]
    assert partition(driver) == {frozenset({"user_id:x", "anonymous_id:d"}),
                                 frozenset({"user_id:b", "anonymous_id:x"})}
    cause = {"messageId": "aa-2", "ts": 0, "source": "web"}
    change = resolve_component(driver, settings.neo4j_database, store.rules, ["user_id:x"], cause)
    assert change.outcome == "unchanged"  # replayed again, not skipped for a key it cannot make
    assert_invariants(driver)
