"""HubSpot, Facebook and webhook syncs through their SDKs/HTTP against local fakes."""

import hashlib

from app.destinations.clients import Caller
from app.destinations.clients.facebook import FacebookClient, hashed_row, normalise_email, normalise_phone
from app.destinations.engine import send
from app.destinations.mapping import Member
from app.destinations.retry import RetryPolicy
from tests.destinations.conftest import destination, people, run_now, segment, set_plan, sync, upkeep

HS_TOKEN = "pat-na1-test-token"
FB_TOKEN = "EAAB-test-token"


def test_hubspot_upserts_by_email_with_mapped_traits_and_flags_exits(engine, store, settings, hubspot_fake):
    pros = people(store, settings, 130, company="Acme")  # two batches: HubSpot takes 100 inputs a request
    seg = segment(engine.feed.driver, settings)
    dest = destination(engine, "hubspot", {"membershipProperty": "cdp_pro"}, {"accessToken": HS_TOKEN})
    s = sync(engine, seg, dest["id"], mapping={"company": "traits.company", "plan": ["traits.plan"]})
    engine.settings = engine.settings.model_copy(update={"sync_batch_size": 200})
    hubspot_fake.fail_next(1, 429, retry_after=0.1)
    run = run_now(engine, s)
    assert (run["status"], run["added"]) == ("succeeded", 130)
    assert set(hubspot_fake.contacts) == set(pros)
    c = hubspot_fake.contacts[min(pros)]["properties"]
    assert (
        c["company"] == "Acme"
        and c["plan"] == "pro"
        and c["cdp_pro"] == "true"
        and c["firstname"].startswith("First")
    )
    assert hubspot_fake.count("POST") == 2 + 1  # 100 + 30, plus the attempt answered 429

    gone = sorted(pros)[:2]
    set_plan(store, settings, gone, "free")
    upkeep(engine.feed.driver, settings, [pros[e] for e in gone])
    run = run_now(engine, s)
    assert run["removed"] == 2
    assert all(hubspot_fake.contacts[e]["properties"]["cdp_pro"] == "false" for e in gone)


def test_hubspot_batch_refused_whole_is_bisected_to_the_poison_contact(engine, store, settings, hubspot_fake):
    pros = people(store, settings, 16)
    poison = sorted(pros)[5]
    hubspot_fake.reject.add(poison)
    seg = segment(engine.feed.driver, settings)
    s = sync(engine, seg, destination(engine, "hubspot", {}, {"accessToken": HS_TOKEN})["id"])
    run = run_now(engine, s)
    assert (run["status"], run["added"], run["failed"]) == ("partial", 15, 1)
    assert set(hubspot_fake.contacts) == set(pros) - {poison}
    [dead] = engine.runs.dead_letters(s["id"], 10, None)
    assert dead["profileId"] == pros[poison] and "400" in dead["error"]


def test_hubspot_without_membership_property_skips_exits(engine, store, settings, hubspot_fake):
    pros = people(store, settings, 3)
    seg = segment(engine.feed.driver, settings)
    s = sync(engine, seg, destination(engine, "hubspot", {}, {"accessToken": HS_TOKEN})["id"])
    run_now(engine, s)
    gone = min(pros)
    set_plan(store, settings, [gone], "free")
    upkeep(engine.feed.driver, settings, [pros[gone]])
    run = run_now(engine, s)
    assert (run["removed"], run["skipped"]) == (0, 1)


def test_facebook_normalises_and_hashes_then_adds_and_removes(engine, store, settings, facebook_fake):
    pros = people(store, settings, 25)
    seg = segment(engine.feed.driver, settings)
    dest = destination(engine, "facebook", {"audienceId": "6000000000001"}, {"accessToken": FB_TOKEN})
    s = sync(engine, seg, dest["id"])
    facebook_fake.fail_next(1, 500, body={"error": {"message": "temporary", "code": 2, "is_transient": True}})
    run = run_now(engine, s)
    assert (run["status"], run["added"]) == ("succeeded", 25)
    audience = facebook_fake.audiences["6000000000001"]
    assert len(audience) == 25
    email = min(pros)
    assert any(row[0] == hashlib.sha256(email.encode()).hexdigest() for row in audience)
    # Nothing in clear went over the wire.
    assert not any(email.encode() in r.body or email in str(r.query) for r in facebook_fake.requests)

    set_plan(store, settings, [email], "free")
    upkeep(engine.feed.driver, settings, [pros[email]])
    run = run_now(engine, s)
    assert run["removed"] == 1 and len(facebook_fake.audiences["6000000000001"]) == 24


def test_facebook_normalisation_rules():
    assert normalise_email("  John.Doe@Example.COM ") == "john.doe@example.com"
    assert normalise_phone("+1 (415) 555-0100") == "14155550100"
    assert normalise_phone("0044 20 7946 0000") == "442079460000"
    row = hashed_row(Member("p", {"email": "A@B.io", "phone": "+14155550100"}))
    assert row == [hashlib.sha256(b"a@b.io").hexdigest(), hashlib.sha256(b"14155550100").hexdigest()]


def test_facebook_batches_stay_within_10000_rows(sync_settings, facebook_fake):
    client = FacebookClient(
        {"audienceId": "6000000000001"},
        {"accessToken": FB_TOKEN},
        sync_settings,
        Caller(RetryPolicy(3, 0.01, 0.05, 1.0), lambda: None, lambda s: None),
        {},
    )
    members = [Member(f"p{i}", {"email": f"u{i}@example.org"}) for i in range(23_456)]
    failures = send(client.add, members, client.max_batch)
    assert failures == []
    assert facebook_fake.batch_sizes == [10_000, 10_000, 3_456]
    assert len(facebook_fake.audiences["6000000000001"]) == 23_456


def test_webhook_batches_are_signed_and_poison_members_dead_lettered(engine, store, settings, webhook_fake):
    pros = people(store, settings, 12)
    poison = pros[sorted(pros)[3]]
    webhook_fake.poison.add(poison)
    seg = segment(engine.feed.driver, settings)
    dest = destination(
        engine, "webhook", {"url": webhook_fake.url + "/hooks/cdp"}, {"signingSecret": webhook_fake.secret}
    )
    s = sync(engine, seg, dest["id"])
    webhook_fake.fail_next(1, 503)
    run = run_now(engine, s)
    assert (run["status"], run["added"], run["failed"]) == ("partial", 11, 1)
    assert webhook_fake.members("added") == set(pros.values()) - {poison}
    [dead] = engine.runs.dead_letters(s["id"], 10, None)
    assert dead["profileId"] == poison


def test_webhook_with_a_wrong_secret_fails_the_run(engine, store, settings, webhook_fake):
    people(store, settings, 3)
    seg = segment(engine.feed.driver, settings)
    dest = destination(
        engine, "webhook", {"url": webhook_fake.url}, {"signingSecret": "not-the-receivers-secret"}
    )
    run = run_now(engine, sync(engine, seg, dest["id"]))
    assert run["status"] == "failed" and "401" in run["errors"][-1]
    assert webhook_fake.batches == {}
