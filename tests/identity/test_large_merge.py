"""A merge rewrites identifier edges only: a profile holding 10,000 events merges without
moving a single event."""
from tests.helpers import assert_invariants, count
from tests.identity.factory import ingest, msg

EVENTS = 10_000


def test_merging_a_profile_with_ten_thousand_events(store, settings, driver):
    for start in range(0, EVENTS, 2000):
        ingest(store, settings, [msg("track", anonymousId="heavy-device", event=f"E{n % 7}") for n in range(start, start + 2000)])
    ingest(store, settings, [msg("identify", userId="heavy-user", traits={"email": "heavy@mail.io"})])
    anchors_before = count(driver, "MATCH (:Event)-[r:SEEN_AS]->(:Identifier {key: 'anonymous_id:heavy-device'}) "
                                   "RETURN collect(elementId(r))")
    assert len(anchors_before) == EVENTS

    result = ingest(store, settings, [msg("identify", userId="heavy-user", anonymousId="heavy-device")])

    assert result.merges == 1
    assert count(driver, "MATCH (p:Profile) WHERE p.retiredAt IS NULL RETURN count(p)") == 1
    on_live = count(driver, "MATCH (e:Event)-[:SEEN_AS]->(:Identifier)-[:BELONGS_TO]->(p:Profile) "
                            "WHERE p.retiredAt IS NULL RETURN count(e)")
    assert on_live == EVENTS + 2
    anchors_after = count(driver, "MATCH (:Event)-[r:SEEN_AS]->(:Identifier {key: 'anonymous_id:heavy-device'}) "
                                  "RETURN collect(elementId(r))")
    assert sorted(anchors_after) == sorted(anchors_before)  # not one event relationship rewritten
    assert_invariants(driver)
