"""Split (unmerge) and GDPR erasure through the API, against the real graph."""
from tests.helpers import ADMIN, assert_invariants, basic, count, metric_sum, partition
from tests.identity.factory import ingest, msg


def _family_profile(store, settings):
    """Dad's profile that wrongly absorbed the kid's tablet via a shared email login."""
    ingest(store, settings, [
        msg("identify", userId="dad", anonymousId="dad-phone", traits={"email": "dad@home.io"},
            timestamp="2026-01-01T00:00:00Z"),
        msg("track", anonymousId="kid-tablet", event="Game Opened", timestamp="2026-01-02T00:00:00Z"),
        msg("identify", anonymousId="kid-tablet", traits={"email": "dad@home.io"}, timestamp="2026-01-03T00:00:00Z"),
    ])


def test_split_moves_identifiers_and_their_events_to_a_new_profile(client, store, settings, driver):
    _family_profile(store, settings)
    r = client.post("/v1/profiles/user_id:dad/split", json={"identifiers": ["anonymous_id:kid-tablet"],
                                                            "reason": "shared login"}, headers=ADMIN)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["moved"] == ["anonymous_id:kid-tablet"]
    assert partition(driver) == {frozenset({"user_id:dad", "anonymous_id:dad-phone", "email:dad@home.io"}),
                                 frozenset({"anonymous_id:kid-tablet"})}
    kid_events = count(driver, "MATCH (e:Event)-[:SEEN_AS]->(:Identifier)-[:BELONGS_TO]->(p:Profile {id: $id}) "
                               "RETURN count(e)", id=body["newProfileId"])
    # The identify call from the tablet hangs off dad's email (the strongest identifier it
    # carried), so it stays with dad; the tablet's own event moves.
    assert kid_events == 1
    assert count(driver, "MATCH (:Profile {id: $n})-[s:SPLIT_FROM]->(:Profile {id: $o}) RETURN s.reason",
                 n=body["newProfileId"], o=body["profileId"]) == "shared login"
    assert_invariants(driver)


def test_old_evidence_cannot_undo_a_split_but_new_evidence_can(client, store, settings, driver):
    _family_profile(store, settings)
    client.post("/v1/profiles/user_id:dad/split", json={"identifiers": ["anonymous_id:kid-tablet"]}, headers=ADMIN)
    # A late copy of the old evidence (dated before the split) is refused.
    result = ingest(store, settings, [msg("identify", anonymousId="kid-tablet", traits={"email": "dad@home.io"},
                                          timestamp="2026-01-03T00:00:01Z")])
    assert result.refusals == 1 and result.merges == 0
    assert len(partition(driver)) == 2
    assert count(driver, "MATCH ()-[r:REFUSED_WITH {reason: 'split'}]->() RETURN count(r)") == 1
    # Dad logs in on the tablet after the split: new evidence, the block is lifted.
    result_message_id = "dad-on-tablet"
    result = ingest(store, settings, [msg("identify", userId="dad", anonymousId="kid-tablet", messageId=result_message_id)])
    assert result.merges == 1
    assert len(partition(driver)) == 1
    assert count(driver, "MATCH ()-[b:SPLIT_APART]->() RETURN count(b)") == 0
    assert count(driver, "MATCH ()-[m:MERGED_INTO {reason: 'evidence-after-split'}]->() RETURN count(m)") == 1
    assert_invariants(driver)
    # Why they share a profile again: the message after the split, not the evidence it overruled.
    why = client.get("/v1/profiles/user_id:dad/explain", params={"a": "user_id:dad", "b": "anonymous_id:kid-tablet"},
                     headers=ADMIN).json()
    [step] = why["path"]
    assert step["messageId"] == result_message_id and "afterSplitAt" not in step
    # The tablet's email login that the split overruled explains nothing: the chain goes through dad.
    why = client.get("/v1/profiles/user_id:dad/explain", params={"a": "anonymous_id:kid-tablet", "b": "email:dad@home.io"},
                     headers=ADMIN).json()
    assert [(x["from"], x["to"]) for x in why["path"]] == [("anonymous_id:kid-tablet", "user_id:dad"),
                                                          ("user_id:dad", "email:dad@home.io")]


def test_a_pair_rejoined_after_a_split_is_explained_by_a_message_since(client, store, settings):
    ingest(store, settings, [msg("identify", userId="u-s", anonymousId="x-s", messageId="s2",
                                 timestamp="2026-11-01T10:00:00Z")])
    assert client.post("/v1/profiles/user_id:u-s/split", json={"identifiers": ["anonymous_id:x-s"]},
                       headers=ADMIN).status_code == 200
    ingest(store, settings, [msg("track", userId="u-s", anonymousId="x-s", messageId="s5")])  # now
    why = client.get("/v1/profiles/user_id:u-s/explain", params={"a": "anonymous_id:x-s", "b": "user_id:u-s"},
                     headers=ADMIN).json()
    [step] = why["path"]
    assert (step["messageId"], step["count"]) == ("s5", 2) and "afterSplitAt" in step


def test_split_bad_input(client, store, settings):
    _family_profile(store, settings)
    url = "/v1/profiles/user_id:dad/split"
    cases = [
        ({"identifiers": []}, 400, "identifiers"),
        ({"identifiers": ["anonymous_id:nope"]}, 400, "identifiers[0]"),
        ({"identifiers": ["bogus:thing"]}, 400, "identifiers[0]"),
        ({"identifiers": ["user_id:dad", "anonymous_id:dad-phone", "email:dad@home.io", "anonymous_id:kid-tablet"]},
         400, "identifiers"),
        ({}, 400, "identifiers"),
    ]
    for body, status, field in cases:
        r = client.post(url, json=body, headers=ADMIN)
        assert r.status_code == status, (body, r.text)
        assert r.json()["field"] == field, (body, r.json())
    assert client.post("/v1/profiles/user_id:ghost/split", json={"identifiers": ["anonymous_id:x"]},
                       headers=ADMIN).status_code == 404
    assert client.post(url, json={"identifiers": ["anonymous_id:kid-tablet"]}).status_code == 401
    assert client.post(url, json={"identifiers": ["anonymous_id:kid-tablet"]}, headers=basic()).status_code == 401


def test_erasure_leaves_nothing_behind_and_suppresses_reingestion(client, store, settings, driver):
    ingest(store, settings, [msg("page", anonymousId="gdpr-anon", name="Home")])
    ingest(store, settings, [msg("identify", userId="gdpr-user",
                                 traits={"email": "Erase.Me@mail.io", "phone": "(415) 555-0111"})])
    ingest(store, settings, [msg("identify", userId="gdpr-user", anonymousId="gdpr-anon")])
    ingest(store, settings, [msg("track", userId="gdpr-user", event="Paid")] * 1)
    ingest(store, settings, [msg("identify", userId="bystander", traits={"email": "other@mail.io"})])
    merged_into = count(driver, "MATCH (p:Profile) WHERE p.retiredAt IS NOT NULL RETURN count(p)")
    assert merged_into == 1

    r = client.delete("/v1/profiles/email:ERASE.me@mail.io", headers=ADMIN)
    assert r.status_code == 200, r.text
    assert r.json()["events"] == 4 and r.json()["identifiers"] == 4 and r.json()["profiles"] == 2

    everything, _, _ = driver.execute_query("MATCH (n) OPTIONAL MATCH (n)-[r]->() "
                                            "RETURN labels(n) AS l, properties(n) AS n, properties(r) AS r")
    dump = repr([dict(rec) for rec in everything]).lower()
    for value in ("gdpr-user", "gdpr-anon", "erase.me@mail.io", "+14155550111", "5550111"):
        assert value not in dump, value
    assert count(driver, "MATCH (p:Profile) RETURN count(p)") == 1  # only the bystander, no retired leftovers
    assert count(driver, "MATCH (s:Suppression) RETURN count(s)") == 4
    assert_invariants(driver)

    # Re-sent data of the erased person is dropped; the bystander is untouched.
    result = ingest(store, settings, [msg("track", userId="gdpr-user", event="Paid again"),
                                      msg("track", anonymousId="new-device", properties={"email": "erase.me@mail.io"}),
                                      msg("track", userId="bystander", event="Still here")])
    assert result.suppressed == 2 and result.stored == 1
    assert partition(driver) == {frozenset({"user_id:bystander", "email:other@mail.io"})}
    assert client.get("/v1/profiles/user_id:gdpr-user/graph", headers=ADMIN).status_code in (404, 405)


def test_a_device_shared_with_an_erased_person_keeps_the_other_users_events(client, store, settings, driver):
    ingest(store, settings, [msg("track", userId="erased-a", anonymousId="shared-dev", event="Viewed",
                                 timestamp="2026-11-01T10:00:00Z")])
    ingest(store, settings, [msg("track", userId="keeper-b", anonymousId="shared-dev", event="Viewed",
                                 timestamp="2026-11-01T11:00:00Z")])
    assert client.delete("/v1/profiles/user_id:erased-a", headers=ADMIN).status_code == 200

    result = ingest(store, settings, [
        msg("track", userId="keeper-b", anonymousId="shared-dev", event="Purchase", messageId="b-kept"),
        msg("track", anonymousId="shared-dev", event="Browse", messageId="anon-dropped"),
        msg("identify", userId="keeper-b", anonymousId="shared-dev", messageId="b-identify-kept",
            traits={"email": "x@mail.io"}),
        msg("track", userId="erased-a", anonymousId="fresh-dev", event="Back", messageId="a-dropped"),
    ])
    # Only a signed-in user's message whose sole erased identifier is the device is kept, without it.
    assert (result.stored, result.suppressed, result.erased_devices_stripped) == (2, 2, 2)
    event = client.get("/v1/events/b-kept", headers=ADMIN).json()
    assert event["userId"] == "keeper-b" and "anonymousId" not in event
    assert event["profileId"] == client.get("/v1/profiles/user_id:keeper-b", headers=ADMIN).json()["id"]
    assert count(driver, "MATCH (i:Identifier {key: 'anonymous_id:shared-dev'}) RETURN count(i)") == 0
    for dropped in ("anon-dropped", "a-dropped"):
        assert client.get(f"/v1/events/{dropped}", headers=ADMIN).status_code == 404
    assert_invariants(driver)


def test_dropped_and_stripped_messages_are_counted_and_not_as_ingested(client, store, settings):
    ingest(store, settings, [msg("track", userId="gone-m", anonymousId="dev-m", event="Viewed")])
    assert client.delete("/v1/profiles/user_id:gone-m", headers=ADMIN).status_code == 200
    before = {name: metric_sum(client, name) for name in (
        "cdp_ingest_suppressed_total", "cdp_ingest_erased_devices_stripped_total",
        'cdp_ingest_messages_total{source="web",type="track"}')}
    batch = [{"type": "track", "userId": "gone-m", "event": "Again"},
             {"type": "track", "userId": "other-m", "anonymousId": "dev-m", "event": "Mine"}]
    assert client.post("/v1/batch", json={"batch": batch}, headers=basic()).status_code == 200
    after = {name: metric_sum(client, name) for name in before}
    assert [after[n] - before[n] for n in before] == [1, 1, 1]


def test_erasure_bad_input(client):
    assert client.delete("/v1/profiles/user_id:nobody", headers=ADMIN).status_code == 404
    r = client.delete("/v1/profiles/nonsense", headers=ADMIN)
    assert r.status_code == 400 and r.json()["field"] == "ref"
    assert client.delete("/v1/profiles/user_id:nobody").status_code == 401
