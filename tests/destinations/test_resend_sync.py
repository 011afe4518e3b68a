"""Resend through the official SDK against the local fake: a full first run, then only the diff."""

from tests.destinations.conftest import destination, people, run_now, segment, set_plan, sync, upkeep

KEY = "re_test_key_123456"


def _resend(engine, **kw):
    return destination(engine, "resend", {"audienceId": "aud_1"}, {"apiKey": KEY}, **kw)


def test_first_run_uploads_members_then_only_entries_and_exits(engine, store, settings, resend_fake):
    pros = people(store, settings, 45, plan="pro")
    people(store, settings, 5, plan="free")
    seg = segment(engine.feed.driver, settings)
    s = sync(engine, seg, _resend(engine)["id"])

    first = run_now(engine, s)
    assert first["status"] == "succeeded" and first["mode"] == "full"
    assert (first["added"], first["removed"], first["failed"]) == (45, 0, 0)
    contacts = resend_fake.contacts()
    assert set(contacts) == set(pros)
    one = (
        contacts["person0@example.org"]
        if "person0@example.org" in contacts
        else next(iter(contacts.values()))
    )
    assert one["first_name"].startswith("First") and one["last_name"].startswith("Last")
    assert engine.store.sync(s["id"])["cursor"] == first["headSeq"] > 0

    # Churn: 3 leave, 2 join; the second run sends exactly those 5 requests.
    leaving = sorted(pros)[:3]
    set_plan(store, settings, leaving, "free")
    joiners = people(store, settings, 2, plan="pro")
    upkeep(engine.feed.driver, settings, [pros[e] for e in leaving] + list(joiners.values()))
    before = len(resend_fake.requests)
    second = run_now(engine, s)
    assert second["mode"] == "diff" and second["status"] == "succeeded"
    assert (second["added"], second["removed"]) == (2, 3)
    assert len(resend_fake.requests) - before == 5
    assert set(resend_fake.contacts()) == (set(pros) - set(leaving)) | set(joiners)

    # Nothing changed: a third run sends nothing.
    before = len(resend_fake.requests)
    third = run_now(engine, s)
    assert (third["added"], third["removed"], third["status"]) == (0, 0, "succeeded")
    assert len(resend_fake.requests) == before


def test_unsubscribe_on_exit_keeps_the_contact(engine, store, settings, resend_fake):
    pros = people(store, settings, 3)
    seg = segment(engine.feed.driver, settings)
    s = sync(engine, seg, _resend(engine)["id"], options={"exitAction": "unsubscribe"})
    run_now(engine, s)
    gone = min(pros)
    set_plan(store, settings, [gone], "free")
    upkeep(engine.feed.driver, settings, [pros[gone]])
    run = run_now(engine, s)
    assert run["removed"] == 1
    assert resend_fake.contacts()[gone]["unsubscribed"] is True


def test_429_with_retry_after_and_5xx_are_retried(engine, store, settings, resend_fake):
    people(store, settings, 4)
    seg = segment(engine.feed.driver, settings)
    s = sync(engine, seg, _resend(engine)["id"])
    resend_fake.fail_next(
        1,
        429,
        retry_after=0.2,
        body={"statusCode": 429, "name": "rate_limit_exceeded", "message": "Too many requests"},
    )
    resend_fake.fail_next(2, 503)
    run = run_now(engine, s)
    assert run["status"] == "succeeded" and run["added"] == 4
    assert len(resend_fake.contacts()) == 4
    assert len(resend_fake.requests) == 4 + 3


def test_existing_contact_is_updated_and_poison_item_is_dead_lettered(engine, store, settings, resend_fake):
    pros = people(store, settings, 4)
    emails = sorted(pros)
    resend_fake.audiences["aud_1"][emails[0]] = {
        "id": "c-old",
        "email": emails[0],
        "first_name": "Old",
        "last_name": None,
        "unsubscribed": True,
    }
    resend_fake.reject.add(emails[1])
    seg = segment(engine.feed.driver, settings)
    s = sync(engine, seg, _resend(engine)["id"])
    run = run_now(engine, s)
    assert run["status"] == "partial"
    assert (run["added"], run["failed"]) == (3, 1)
    contacts = resend_fake.contacts()
    assert (
        contacts[emails[0]]["first_name"].startswith("First") and contacts[emails[0]]["unsubscribed"] is False
    )
    dead = engine.runs.dead_letters(s["id"], 10, None)
    assert [d["profileId"] for d in dead] == [pros[emails[1]]]
    assert "422" in dead[0]["error"] and dead[0]["fields"]["email"] == emails[1]
    # The cursor still moves: a poison item does not hold the sync back.
    assert engine.store.sync(s["id"])["cursor"] == run["headSeq"]


def test_bad_api_key_fails_the_run_without_moving_the_cursor(engine, store, settings, resend_fake):
    people(store, settings, 3)
    seg = segment(engine.feed.driver, settings)
    dest = destination(engine, "resend", {"audienceId": "aud_1"}, {"apiKey": "re_wrong_key_000000"})
    s = sync(engine, seg, dest["id"])
    run = run_now(engine, s)
    assert run["status"] == "failed" and "403" in run["errors"][-1]
    assert engine.store.sync(s["id"]).get("cursor") is None
    assert len(resend_fake.requests) == 1  # stopped at the first refusal, not once per contact


def test_a_merged_away_member_is_not_removed_when_its_survivor_stays(engine, store, settings, resend_fake):
    from tests.identity.factory import ingest, msg

    ingest(
        store,
        settings,
        [
            msg("identify", userId="merge-u1", traits={"email": "one@example.org", "plan": "pro"}),
            msg("identify", anonymousId="merge-anon2", traits={"email": "two@example.org", "plan": "pro"}),
        ],
    )
    s = sync(engine, segment(engine.feed.driver, settings), _resend(engine)["id"])
    assert run_now(engine, s)["added"] == 2
    merged = ingest(store, settings, [msg("track", userId="merge-u1", anonymousId="merge-anon2")])
    assert merged.merges == 1
    upkeep(engine.feed.driver, settings, set(merged.retired) | merged.touched_profiles)
    run = run_now(engine, s)
    # The retired profile exits the segment, but its email now belongs to a member: nothing removed.
    assert (run["removed"], run["skipped"], run["status"]) == (0, 1, "succeeded")
    assert set(resend_fake.contacts()) == {"one@example.org", "two@example.org"}


def test_dead_letters_are_listed_and_discarded_through_the_api(client, engine, store, settings, resend_fake):
    from tests.helpers import ADMIN

    pros = people(store, settings, 3)
    poison = min(pros)
    resend_fake.reject.add(poison)
    s = sync(engine, segment(engine.feed.driver, settings), _resend(engine)["id"])
    run = run_now(engine, s)
    listed = client.get(f"/v1/syncs/{s['id']}/dead-letters", headers=ADMIN)
    assert listed.status_code == 200
    [dead] = listed.json()["deadLetters"]
    assert (dead["profileId"], dead["op"], dead["runId"]) == (pros[poison], "add", run["id"])
    assert dead["fields"]["email"] == poison and "422" in dead["error"]
    runs = client.get(f"/v1/syncs/{s['id']}/runs", headers=ADMIN).json()["runs"]
    assert runs[0]["status"] == "partial" and runs[0]["failed"] == 1 and runs[0]["durationMs"] >= 0
    assert client.get(f"/v1/syncs/{s['id']}/dead-letters?limit=0", headers=ADMIN).status_code == 400
    url = f"/v1/syncs/{s['id']}/dead-letters/{dead['id']}"
    assert client.delete(url, headers=ADMIN).status_code == 204
    assert client.get(f"/v1/syncs/{s['id']}/dead-letters", headers=ADMIN).json()["deadLetters"] == []
    assert client.delete(url, headers=ADMIN).status_code == 404
