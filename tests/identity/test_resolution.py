"""Identity rules against the real graph: limits, priority, blocked values, merges, evidence."""
from app.settings import IdentifierRule
from tests.helpers import assert_invariants, count, partition
from tests.identity.factory import ingest, msg, store_for


def test_two_user_ids_on_a_shared_device_never_merge(store, settings, driver):
    ingest(store, settings, [msg("identify", userId="alice", anonymousId="family-pc")])
    result = ingest(store, settings, [msg("identify", userId="bob", anonymousId="family-pc")])
    assert partition(driver) == {frozenset({"user_id:alice", "anonymous_id:family-pc"}),
                                 frozenset({"user_id:bob"})}
    assert result.refusals == 1
    reason = count(driver, "MATCH ()-[r:REFUSED_WITH]-() RETURN r.reason")
    assert reason == "limit:user_id:1"
    assert_invariants(driver)


def test_a_merge_that_would_exceed_the_email_limit_drops_the_extra_email(store, settings, driver):
    emails = [f"p{n}@mail.io" for n in range(5)]
    ingest(store, settings, [msg("identify", userId="u1", traits={"email": e}) for e in emails])
    ingest(store, settings, [msg("identify", userId="u1", traits={"email": "sixth@mail.io"})])
    parts = partition(driver)
    assert frozenset({"user_id:u1", *(f"email:{e}" for e in emails)}) in parts
    assert frozenset({"email:sixth@mail.io"}) in parts  # resolves separately
    assert count(driver, "MATCH (:Identifier {key:'user_id:u1'})-[r:REFUSED_WITH]-(:Identifier {key:'email:sixth@mail.io'}) "
                         "RETURN r.reason") == "limit:email:5"
    assert_invariants(driver)


def test_limits_and_priorities_are_configurable(clean_db, settings, driver):
    custom = settings.model_copy(update={"identity_rules": {
        "user_id": IdentifierRule(limit=1, priority=1), "phone": IdentifierRule(limit=1, priority=2),
        "email": IdentifierRule(limit=5, priority=3), "anonymous_id": IdentifierRule(limit=None, priority=4)}})
    store = store_for(driver, custom)
    ingest(store, custom, [msg("identify", anonymousId="a1", traits={"phone": "4155550100"})])
    # The second phone would break the phone limit of 1: the lower-priority side of this merge
    # (the profile holding a1 and the first phone) is refused; email joins the strongest id.
    ingest(store, custom, [msg("identify", anonymousId="a1", traits={"phone": "4155550199", "email": "x@mail.io"})])
    assert partition(driver) == {frozenset({"anonymous_id:a1", "phone:+14155550100"}),
                                 frozenset({"phone:+14155550199", "email:x@mail.io"})}
    assert_invariants(driver)


def test_anonymous_ids_are_unlimited(store, settings, driver):
    ingest(store, settings, [msg("page", userId="u1", anonymousId=f"device-{n}") for n in range(60)])
    assert len(partition(driver)) == 1
    assert count(driver, "MATCH (p:Profile) WHERE p.retiredAt IS NULL RETURN p.n_anonymous_id") == 60


def test_email_joins_profiles_and_the_loser_points_to_the_survivor(store, settings, driver):
    ingest(store, settings, [msg("identify", anonymousId="web-1", traits={"email": "Ann@Mail.io"})])
    ingest(store, settings, [msg("track", userId="ann", anonymousId="phone-1")])
    result = ingest(store, settings, [msg("identify", userId="ann", traits={"email": " ann@mail.IO"})])
    assert result.merges == 1
    assert partition(driver) == {frozenset({"anonymous_id:web-1", "email:ann@mail.io", "user_id:ann",
                                            "anonymous_id:phone-1"})}
    assert count(driver, "MATCH (:Profile)-[:MERGED_INTO]->(s:Profile) WHERE s.retiredAt IS NULL RETURN count(*)") == 1
    assert_invariants(driver)


def test_blocked_and_placeholder_values_never_join_people(store, settings, driver):
    ingest(store, settings, [
        msg("identify", userId="u1", traits={"email": "test@test.com", "phone": "0"}),
        msg("identify", userId="u2", traits={"email": "TEST@test.com"}),
        msg("track", userId="u3", anonymousId="undefined"),
        msg("track", userId="u4", anonymousId="00000000-0000-0000-0000-000000000000"),
    ])
    assert partition(driver) == {frozenset({f"user_id:u{n}"}) for n in range(1, 5)}


def test_evidence_records_the_first_message_that_joined_two_identifiers(store, settings, driver):
    first = msg("identify", userId="u1", anonymousId="a1", timestamp="2026-01-02T00:00:00Z")
    ingest(store, settings, [first, msg("track", userId="u1", anonymousId="a1", timestamp="2026-01-03T00:00:00Z")])
    late = msg("track", userId="u1", anonymousId="a1", timestamp="2026-01-01T00:00:00Z")
    ingest(store, settings, [late])
    records, _, _ = driver.execute_query("MATCH (:Identifier)-[e:SEEN_WITH]->(:Identifier) RETURN e")
    assert len(records) == 1
    edge = records[0]["e"]
    assert edge["count"] == 3
    assert edge["firstMessageId"] == late["messageId"]  # earliest by event time, even though it came last
    assert edge["source"] == "web"


def test_event_lookup_follows_merges_to_the_live_profile(store, settings, driver):
    m1 = msg("track", anonymousId="a1")
    ingest(store, settings, [m1, msg("track", userId="u1")])
    ingest(store, settings, [msg("alias", previousId="a1", userId="u1")])
    from app.events import read_event
    live = count(driver, "MATCH (p:Profile) WHERE p.retiredAt IS NULL RETURN p.id")
    assert read_event(driver, settings.neo4j_database, m1["messageId"])["profileId"] == live


def test_profile_seen_window_and_counts_follow_events(store, settings, driver):
    ingest(store, settings, [msg("track", userId="u1", timestamp="2026-03-01T00:00:00Z"),
                             msg("track", userId="u1", timestamp="2026-01-01T00:00:00Z")])
    records, _, _ = driver.execute_query("MATCH (p:Profile) RETURN p.firstSeen AS f, p.lastSeen AS l")
    assert records[0]["f"] < records[0]["l"]
    assert records[0]["l"] - records[0]["f"] == 59 * 24 * 3600 * 1000


def test_an_email_typed_on_a_shared_computer_is_claimed_by_its_owner(store, settings, driver):
    """B fills a form on A's family computer; when B later logs in with that email, the email
    (and its events) leave A's profile for B's, in either delivery order."""
    family = [msg("identify", userId="A", anonymousId="family-pc", timestamp="2026-01-01T00:00:00Z"),
              msg("track", anonymousId="family-pc", properties={"email": "b@home.io"}, event="Form Sent",
                  timestamp="2026-01-02T00:00:00Z")]
    login = [msg("identify", userId="B", anonymousId="b-phone", traits={"email": "b@home.io"},
                 timestamp="2026-01-03T00:00:00Z")]
    expected = {frozenset({"user_id:A", "anonymous_id:family-pc"}),
                frozenset({"user_id:B", "anonymous_id:b-phone", "email:b@home.io"})}
    for order in (family + login, login + family):
        from tests.conftest import wipe
        wipe(driver)
        for m in order:
            ingest(store, settings, [dict(m, messageId=m["messageId"] + str(id(order)))])
        assert partition(driver) == expected
        assert_invariants(driver)
    assert count(driver, "MATCH ()-[m:MOVED_FROM]->() RETURN count(m)") == 0  # second order needed no move


def test_an_email_seen_with_a_user_id_is_not_claimed_by_another(store, settings, driver):
    ingest(store, settings, [msg("identify", userId="A", traits={"email": "a@home.io"})])
    result = ingest(store, settings, [msg("identify", userId="B", traits={"email": "a@home.io"})])
    assert result.refusals == 1
    assert partition(driver) == {frozenset({"user_id:A", "email:a@home.io"}), frozenset({"user_id:B"})}


def test_claimed_email_takes_its_events_and_counts_along(store, settings, driver):
    ingest(store, settings, [msg("identify", userId="A", anonymousId="family-pc"),
                             msg("track", anonymousId="family-pc", properties={"email": "b@home.io"})])
    ingest(store, settings, [msg("identify", userId="B", traits={"email": "b@home.io"})])
    records, _, _ = driver.execute_query(
        "MATCH (:Identifier {key: $k})-[:BELONGS_TO]->(p:Profile) RETURN p.eventCount AS n, p.n_email AS e", k="user_id:A")
    assert records[0]["n"] == 1 and records[0]["e"] == 0
    assert count(driver, "MATCH (i:Identifier {key: 'email:b@home.io'})-[m:MOVED_FROM]->() RETURN m.reason") == \
        "claimed-by-user-id"
