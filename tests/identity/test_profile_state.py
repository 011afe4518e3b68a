"""Profile roll-ups kept by ingest: traits (newest wins), event count, sources."""
from tests.helpers import ADMIN, count
from tests.identity.factory import ingest, msg


def _profile(driver, key: str) -> dict:
    records, _, _ = driver.execute_query(
        "MATCH (:Identifier {key: $key})-[:BELONGS_TO]->(p:Profile) RETURN properties(p) AS p", key=key)
    return records[0]["p"]


def test_traits_newest_wins_whatever_the_delivery_order(store, settings, driver):
    ingest(store, settings, [msg("identify", userId="t1", traits={"plan": "pro", "address": {"city": "Oslo"}},
                                 timestamp="2026-02-01T00:00:00Z")])
    ingest(store, settings, [msg("identify", userId="t1", traits={"plan": "free", "age": 31},
                                 timestamp="2026-01-01T00:00:00Z")])  # late, older
    p = _profile(driver, "user_id:t1")
    assert p["t.plan"] == "pro" and p["t.address.city"] == "Oslo" and p["t.age"] == 31
    assert count(driver, "MATCH (k:TraitKey) RETURN collect(k.name)") is not None
    names = set(count(driver, "MATCH (k:TraitKey) RETURN collect(k.name)"))
    assert {"plan", "address.city", "age"} <= names


def test_only_identify_traits_set_traits_not_an_sdks_cached_context_traits(store, settings, driver):
    # A mobile SDK attaches its cached traits to every call: a stale copy must not beat a newer identify.
    ingest(store, settings, [msg("identify", userId="t2", traits={"plan": "free"}, timestamp="2026-11-01T00:00:00Z")],
           source="mobile")
    ingest(store, settings, [msg("identify", userId="t2", traits={"plan": "pro"}, timestamp="2026-11-02T00:00:00Z",
                                 context={"traits": {"plan": "x", "tier": "y"}})], source="server")
    ingest(store, settings, [msg("track", userId="t2", event="Opened", timestamp="2026-11-03T00:00:00Z",
                                 context={"traits": {"plan": "free", "email": "t2@m.io"}})], source="mobile")
    p = _profile(driver, "user_id:t2")
    assert p["t.plan"] == "pro" and "t.tier" not in p and "t.email" not in p
    # context.traits.email still identifies the person (it is where the SDKs put it).
    assert _profile(driver, "email:t2@m.io")["id"] == p["id"]


def test_a_split_rederives_the_same_traits_ingest_set(store, settings, driver, client):
    ingest(store, settings, [msg("identify", anonymousId="t4-dev", traits={"plan": "free"},
                                 timestamp="2026-11-01T00:00:00Z"),
                             msg("track", anonymousId="t4-dev", event="Opened", timestamp="2026-11-04T00:00:00Z",
                                 context={"traits": {"plan": "stale"}}),
                             msg("identify", userId="t4", anonymousId="t4-dev", traits={"name": "Tia"},
                                 timestamp="2026-11-02T00:00:00Z"),
                             msg("track", userId="t4", event="Paid", timestamp="2026-11-03T00:00:00Z",
                                 context={"traits": {"name": "stale"}})])
    before = _profile(driver, "user_id:t4")
    assert (before["t.plan"], before["t.name"]) == ("free", "Tia")
    r = client.post("/v1/profiles/user_id:t4/split", json={"identifiers": ["anonymous_id:t4-dev"]}, headers=ADMIN)
    assert r.status_code == 200, r.text
    assert _profile(driver, "anonymous_id:t4-dev")["t.plan"] == "free"
    assert _profile(driver, "user_id:t4")["t.name"] == "Tia"


def test_null_unsets_a_trait_and_older_values_cannot_revive_it(store, settings, driver):
    ingest(store, settings, [msg("identify", userId="t3", traits={"coupon": "X1"}, timestamp="2026-01-01T00:00:00Z")])
    ingest(store, settings, [msg("identify", userId="t3", traits={"coupon": None}, timestamp="2026-01-03T00:00:00Z")])
    ingest(store, settings, [msg("identify", userId="t3", traits={"coupon": "OLD"}, timestamp="2026-01-02T00:00:00Z")])
    assert "t.coupon" not in _profile(driver, "user_id:t3")


def test_merge_combines_traits_counts_and_sources(store, settings, driver):
    ingest(store, settings, [msg("identify", anonymousId="m-dev", traits={"plan": "free", "color": "red"},
                                 timestamp="2026-01-01T00:00:00Z"),
                             msg("track", anonymousId="m-dev", event="A")], source="mobile")
    ingest(store, settings, [msg("identify", userId="m-user", traits={"plan": "pro"}, timestamp="2026-01-05T00:00:00Z")])
    ingest(store, settings, [msg("alias", previousId="m-dev", userId="m-user", timestamp="2026-01-06T00:00:00Z")])
    p = _profile(driver, "user_id:m-user")
    assert p["t.plan"] == "pro" and p["t.color"] == "red"
    assert p["eventCount"] == 4
    assert sorted(p["sources"]) == ["mobile", "web"]


def test_split_rederives_both_sides(client, store, settings, driver):
    ingest(store, settings, [msg("identify", userId="s-user", traits={"plan": "pro"}, timestamp="2026-01-01T00:00:00Z"),
                             msg("identify", anonymousId="s-dev", traits={"color": "blue"}, timestamp="2026-01-02T00:00:00Z"),
                             msg("track", anonymousId="s-dev", event="B")], source="web")
    ingest(store, settings, [msg("identify", userId="s-user", anonymousId="s-dev")], source="mobile")
    assert _profile(driver, "user_id:s-user")["eventCount"] == 4
    r = client.post("/v1/profiles/user_id:s-user/split", json={"identifiers": ["anonymous_id:s-dev"]}, headers=ADMIN)
    assert r.status_code == 200, r.text
    kept, moved = _profile(driver, "user_id:s-user"), _profile(driver, "anonymous_id:s-dev")
    assert kept["t.plan"] == "pro" and "t.color" not in kept and kept["eventCount"] == 2
    assert moved["t.color"] == "blue" and "t.plan" not in moved and moved["eventCount"] == 2
    assert moved["sources"] == ["web"]


def test_trait_and_property_names_neo4j_cannot_hold_are_kept_only_in_the_json(store, settings, driver):
    m = msg("identify", userId="nul-user", traits={"bad\x00name": "x", "plan": "pro"},
            properties={"also\x00bad": 1})
    ingest(store, settings, [m])
    p = _profile(driver, "user_id:nul-user")
    assert p["t.plan"] == "pro" and not any("\x00" in k for k in p)
    records, _, _ = driver.execute_query("MATCH (e:Event {messageId: $id}) RETURN e.traits AS t", id=m["messageId"])
    assert "bad\\u0000name" in records[0]["t"]
