"""Groups whose messages bring identifiers the store remembers on one profile each, or only
identifiers it never wrote, are written in one statement that confirms those owners first; whatever
made an assumption wrong, the group is then planned from the snapshot that statement answers, and
the graph ends as the snapshot path alone would leave it."""
from __future__ import annotations

from prometheus_client import REGISTRY

from app.identity.erasure import erase_profile
from app.identity.known_owners import KnownOwners
from app.identity.rules import IdentifierRule, IdentityRules
from app.identity.store import IdentityStore
from tests.conftest import wipe
from tests.helpers import partition
from tests.identity.factory import ingest, msg

# Messages at fixed times, so two runs of the same story write the same graph (profile ids aside).
T = "2026-11-20T10:00:{:02d}.000Z"


def _groups(kind: str) -> float:
    return REGISTRY.get_sample_value("cdp_ingest_known_owner_groups_total", {"outcome": kind}) or 0.0


def _graph(driver) -> dict:
    """What the graph says, by identifier sets instead of random profile ids."""
    records, _, _ = driver.execute_query("""
        MATCH (p:Profile) WHERE p.retiredAt IS NULL
        MATCH (i:Identifier)-[:BELONGS_TO]->(p)
        WITH p, collect(i.key) AS keys
        RETURN keys, p {.*, id: null, version: null} AS props,
               COLLECT { MATCH (p)<-[:BELONGS_TO]-(:Identifier)<-[:SEEN_AS]-(e:Event) RETURN e.messageId } AS events""")
    profiles = {frozenset(r["keys"]): (r["props"], sorted(r["events"])) for r in records}
    records, _, _ = driver.execute_query("""
        MATCH (a:Identifier)-[e:SEEN_WITH]->(b:Identifier)
        RETURN a.key AS a, b.key AS b, properties(e) AS props""")
    evidence = {(r["a"], r["b"]): r["props"] for r in records}
    records, _, _ = driver.execute_query(
        "MATCH (i:Identifier) RETURN i.key AS key, i.firstSeen AS first, i.lastSeen AS last")
    seen = {r["key"]: (r["first"], r["last"]) for r in records}
    return {"profiles": profiles, "evidence": evidence, "seen": seen}


def _story() -> list[list[dict]]:
    """A visitor who signs up, a second device that turns out to be hers (a merge), then groups
    that carry only identifiers already on her profile, one of them late."""
    return [
        [msg(anonymousId="dev-a", messageId="s1", timestamp=T.format(1)),
         msg("identify", anonymousId="dev-a", userId="u-a", messageId="s2", timestamp=T.format(2),
             traits={"email": "a@shop.example", "plan": "free"}),
         msg(anonymousId="dev-b", messageId="s3", timestamp=T.format(3))],
        [msg(anonymousId="dev-a", userId="u-a", messageId="s4", timestamp=T.format(4)),
         msg(anonymousId="dev-b", messageId="s5", timestamp=T.format(5), properties={"email": "A@shop.example"})],
        [msg("identify", userId="u-a", messageId="s6", timestamp=T.format(9), traits={"plan": "pro", "seats": 3}),
         msg(anonymousId="dev-a", messageId="s7", timestamp=T.format(7)),
         msg("page", anonymousId="dev-b", messageId="s8", timestamp=T.format(8), name="Pricing")],
        [msg(anonymousId="dev-a", userId="u-a", messageId="s9", timestamp=T.format(6))],  # late
    ]


def test_known_owners_forget_the_oldest_entries_beyond_capacity():
    owners = KnownOwners(capacity=3)
    owners.remember({"a": "p1", "b": "p1", "c": "p2"})
    owners.remember({"a": "p1"})  # used again: now the youngest
    owners.remember({"d": "p3"})
    assert owners.owners_among(["a", "c", "d"]) == {"a": "p1", "c": "p2", "d": "p3"}
    assert owners.owners_among(["a", "b"]) == {"a": "p1"}  # b was the oldest
    assert len(owners) == 3
    off = KnownOwners(capacity=0)
    off.remember({"a": "p1"})
    assert off.owners_among(["a"]) == {}


def test_a_group_on_known_owners_writes_the_graph_the_snapshot_path_writes(store, settings, driver):
    snapshot_only = IdentityStore(driver, settings.neo4j_database, store.rules, known_owners=0)
    for group in _story():
        ingest(snapshot_only, settings, group)
    expected = _graph(driver)

    wipe(driver)
    written = _groups("written")
    results = [ingest(store, settings, group) for group in _story()]

    assert _graph(driver) == expected
    assert _groups("written") - written == 3  # the first (every identifier new) and the two after the merge
    assert [r.stored for r in results] == [3, 2, 3, 1]
    assert results[2].new_trait_names == ["seats"]  # registered for segment filters, as on a snapshot
    assert results[3].touched_profiles == {results[0].owners["user_id:u-a"]}


def test_an_owner_changed_by_another_process_is_planned_from_a_snapshot(store, settings, driver):
    ingest(store, settings, [msg(anonymousId="dev-m", messageId="m1", timestamp=T.format(1)),
                             msg(userId="u-m", messageId="m2", timestamp=T.format(2))])
    other_process = IdentityStore(driver, settings.neo4j_database, store.rules)
    # The device's profile is older, so it survives; the user id's profile, remembered here, retires.
    ingest(other_process, settings, [msg(anonymousId="dev-m", userId="u-m", messageId="m3", timestamp=T.format(3))])

    stale = _groups("planned_from_snapshot")
    result = ingest(store, settings, [msg(userId="u-m", messageId="m4", timestamp=T.format(4))])

    assert _groups("planned_from_snapshot") - stale == 1
    assert result.stored == 1
    assert partition(driver) == {frozenset({"anonymous_id:dev-m", "user_id:u-m"})}
    survivor = result.owners["user_id:u-m"]
    records, _, _ = driver.execute_query(
        "MATCH (p:Profile {id: $id}) RETURN p.eventCount AS n, p.retiredAt IS NULL AS live", id=survivor)
    assert (records[0]["n"], records[0]["live"]) == (4, True)
    # The snapshot's answer is remembered: the next group is written on it.
    written = _groups("written")
    ingest(store, settings, [msg(userId="u-m", messageId="m5", timestamp=T.format(5))])
    assert _groups("written") - written == 1


def test_retries_and_erased_people_in_a_known_group_are_dropped_as_on_a_snapshot(store, settings, driver):
    kept, gone = msg(anonymousId="dev-k", messageId="k1"), msg(userId="u-gone", messageId="g1")
    ingest(store, settings, [kept, gone])
    erase_profile(driver, settings.neo4j_database, settings.suppression_salt,
                  store.known_owners.owners_among(["user_id:u-gone"])["user_id:u-gone"])

    result = ingest(store, settings, [kept, msg(anonymousId="dev-k", messageId="k2"),
                                      msg(userId="u-gone", messageId="g2")])

    assert (result.stored, result.duplicates, result.suppressed) == (1, 1, 1)
    assert partition(driver) == {frozenset({"anonymous_id:dev-k"})}
    records, _, _ = driver.execute_query("MATCH (e:Event) RETURN collect(e.messageId) AS ids")
    assert sorted(records[0]["ids"]) == ["k1", "k2"]


def test_a_profile_over_a_limit_lowered_since_is_planned_from_a_snapshot(store, settings, driver):
    """Lowering a limit leaves older profiles over it; the planner decides what a new message does
    with such a profile, so the remembered owner is not confirmed for it."""
    ingest(store, settings, [msg("identify", userId="u-l", messageId="l1", timestamp=T.format(1),
                                 traits={"email": "one@shop.example"}),
                             msg("identify", userId="u-l", messageId="l2", timestamp=T.format(2),
                                 traits={"email": "two@shop.example"})])
    lowered = settings.model_copy(update={"identity_rules": {**settings.identity_rules,
                                                             "email": IdentifierRule(limit=1, priority=2)}})
    strict = IdentityStore(driver, settings.neo4j_database, IdentityRules(lowered))
    strict.known_owners.remember(store.known_owners.owners_among(["user_id:u-l", "email:one@shop.example"]))

    stale, written = _groups("planned_from_snapshot"), _groups("written")
    ingest(strict, lowered, [msg("identify", userId="u-l", messageId="l3", timestamp=T.format(3),
                                 traits={"email": "one@shop.example"})])

    assert _groups("written") == written
    assert _groups("planned_from_snapshot") - stale == 1
    after = _graph(driver)
    wipe(driver)
    ingest(store, settings, [msg("identify", userId="u-l", messageId="l1", timestamp=T.format(1),
                                 traits={"email": "one@shop.example"}),
                             msg("identify", userId="u-l", messageId="l2", timestamp=T.format(2),
                                 traits={"email": "two@shop.example"})])
    planned = IdentityStore(driver, settings.neo4j_database, IdentityRules(lowered), known_owners=0)
    ingest(planned, lowered, [msg("identify", userId="u-l", messageId="l3", timestamp=T.format(3),
                                  traits={"email": "one@shop.example"})])
    assert after == _graph(driver)


def _new_visitors() -> list[list[dict]]:
    """New visitors only: one who logs in on her first call, one whose device two people share (the
    second user id is refused and resolves on its own), and one who sends two calls in the same group."""
    return [
        [msg(anonymousId="dev-n1", userId="u-n1", messageId="n1", timestamp=T.format(1)),
         msg(anonymousId="dev-shared", userId="u-n2", messageId="n2", timestamp=T.format(2)),
         msg(anonymousId="dev-shared", userId="u-n3", messageId="n3", timestamp=T.format(3)),
         msg("identify", anonymousId="dev-n4", messageId="n4", timestamp=T.format(4),
             traits={"email": "n4@shop.example", "plan": "free"}),
         msg(anonymousId="dev-n4", messageId="n5", timestamp=T.format(5))],
        [msg(anonymousId="dev-n1", userId="u-n1", messageId="n6", timestamp=T.format(6)),
         msg(anonymousId="dev-n5", messageId="n7", timestamp=T.format(7))],
    ]


def test_new_visitors_groups_are_written_as_the_snapshot_path_writes_them(store, settings, driver):
    snapshot_only = IdentityStore(driver, settings.neo4j_database, store.rules, known_owners=0)
    expected_results = [ingest(snapshot_only, settings, group) for group in _new_visitors()]
    expected = _graph(driver)

    wipe(driver)
    written = _groups("written")
    results = [ingest(store, settings, group) for group in _new_visitors()]

    assert _graph(driver) == expected
    assert _groups("written") - written == 2
    assert [(r.stored, r.new_profiles, r.refusals) for r in results] == \
        [(r.stored, r.new_profiles, r.refusals) for r in expected_results] == [(5, 4, 1), (2, 1, 0)]
    assert results[0].new_trait_names == expected_results[0].new_trait_names == ["email", "plan"]
    assert results[1].owners["user_id:u-n1"] == results[0].owners["anonymous_id:dev-n1"]


def test_an_identifier_another_process_wrote_is_planned_from_the_answered_snapshot(store, settings, driver):
    other_process = IdentityStore(driver, settings.neo4j_database, store.rules)
    first = ingest(other_process, settings, [msg(anonymousId="dev-o", userId="u-o", messageId="o1",
                                                 timestamp=T.format(1))])

    stale, written = _groups("planned_from_snapshot"), _groups("written")
    # Never written by this store: assumed new, found on the other process's profile.
    result = ingest(store, settings, [msg(userId="u-o", messageId="o2", timestamp=T.format(2),
                                          properties={"email": "o@shop.example"})])

    assert (_groups("planned_from_snapshot") - stale, _groups("written") - written) == (1, 0)
    assert result.stored == 1 and result.new_profiles == 0
    assert result.owners["email:o@shop.example"] == first.owners["user_id:u-o"]
    assert partition(driver) == {frozenset({"anonymous_id:dev-o", "user_id:u-o", "email:o@shop.example"})}
    records, _, _ = driver.execute_query("MATCH (p:Profile) RETURN p.eventCount AS n, p.n_email AS emails")
    assert [(r["n"], r["emails"]) for r in records] == [(2, 1)]
