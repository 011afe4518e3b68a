"""A GDPR erasure reaches the destinations: the erased person's exit is sent as a removal, addressed
by identifiers the erasure sealed for it (nothing else is left of the person), and the seal is
deleted with the feed entries it was kept for."""

import pytest
from fastapi.testclient import TestClient

from app.destinations.runs import RETRY_TRIGGER
from app.main import create_app
from app.settings import get_settings
from tests.destinations.conftest import destination, people, run_now, segment, set_plan, sync, upkeep
from tests.helpers import ADMIN, count

DAY_MS = 86_400_000
HS_TOKEN = "pat-na1-test-token"



def erase(client: TestClient, email: str) -> None:
    r = client.delete(f"/v1/profiles/email:{email}", headers=ADMIN)
    assert r.status_code == 200, r.text


def test_an_erased_member_is_removed_from_each_destination(engine, store, settings, sync_settings, webhook_fake,
                                                           resend_fake):
    pros = people(store, settings, 3)
    gone, *kept = sorted(pros)
    seg = segment(engine.feed.driver, settings)
    hook = sync(engine, seg, destination(engine, "webhook", {"url": webhook_fake.url},
                                         {"signingSecret": webhook_fake.secret})["id"])
    mail = sync(engine, seg, destination(engine, "resend", {"audienceId": "aud_1"},
                                         {"apiKey": resend_fake.api_key})["id"])
    assert run_now(engine, hook)["added"] == 3 and run_now(engine, mail)["added"] == 3
    assert set(resend_fake.contacts()) == set(pros)

    with TestClient(create_app(sync_settings)) as client:
        erase(client, gone)
    sealed = engine.feed.driver.execute_query("MATCH (x:ErasedProfile) RETURN x.sealed AS s").records
    assert len(sealed) == 1 and gone not in sealed[0]["s"]  # kept encrypted, not in clear

    hook_run, mail_run = run_now(engine, hook), run_now(engine, mail)
    assert (hook_run["removed"], hook_run["skipped"]) == (1, 0)
    assert (mail_run["removed"], mail_run["skipped"]) == (1, 0)
    assert set(resend_fake.contacts()) == set(kept)
    [removal] = [b for b in webhook_fake.batches.values() if b["type"] == "segment.members.removed"]
    assert removal["members"] == [{"profileId": pros[gone], "email": gone, "userId": removal["members"][0]["userId"],
                                   "phone": removal["members"][0]["phone"], "erased": True}]
    assert not any(k in removal["members"][0] for k in ("firstName", "lastName"))  # traits are gone


def test_nothing_is_kept_when_no_sync_exists(engine, store, settings, sync_settings):
    pros = people(store, settings, 2)
    segment(engine.feed.driver, settings)  # members, but no destination hears of this segment
    with TestClient(create_app(sync_settings)) as client:
        erase(client, min(pros))
    assert count(engine.feed.driver, "MATCH (x:ErasedProfile) RETURN count(x)") == 0


def test_a_person_erased_after_leaving_before_the_exit_was_sent_is_removed(engine, store, settings,
                                                                           sync_settings, webhook_fake):
    pros = people(store, settings, 2)
    gone = min(pros)
    seg = segment(engine.feed.driver, settings)
    s = sync(engine, seg, destination(engine, "webhook", {"url": webhook_fake.url},
                                      {"signingSecret": webhook_fake.secret})["id"])
    run_now(engine, s)
    set_plan(store, settings, [gone], "free")  # leaves the segment; no run has sent the exit yet
    upkeep(engine.feed.driver, settings, [pros[gone]])
    with TestClient(create_app(sync_settings)) as client:
        erase(client, gone)
    run = run_now(engine, s)
    assert (run["removed"], run["skipped"]) == (1, 0)
    [removal] = [b for b in webhook_fake.batches.values() if b["type"] == "segment.members.removed"]
    assert [(m["profileId"], m["email"], m["erased"]) for m in removal["members"]] == [(pros[gone], gone, True)]


def test_an_erased_persons_dead_letters_keep_no_addresses(engine, store, settings, sync_settings, webhook_fake):
    pros = people(store, settings, 2)
    gone = min(pros)
    seg = segment(engine.feed.driver, settings)
    s = sync(engine, seg, destination(engine, "webhook", {"url": webhook_fake.url},
                                      {"signingSecret": webhook_fake.secret})["id"])
    webhook_fake.poison.add(pros[gone])
    run_now(engine, s)  # the add is refused: a dead letter holding the email
    [before] = engine.runs.dead_letters(s["id"], 10, None)
    assert before["fields"]["email"] == gone
    webhook_fake.poison = set()
    run_now(engine, s)
    with TestClient(create_app(sync_settings)) as client:
        erase(client, gone)
    [blanked] = engine.runs.dead_letters(s["id"], 10, None)
    assert blanked["fields"] == {} and gone not in blanked["error"]

    webhook_fake.poison.add(pros[gone])  # the removal is refused too: its letter names no address
    run = run_now(engine, s)
    assert run["failed"] == 1 and not any(gone in e for e in run["errors"])
    letters = engine.runs.dead_letters(s["id"], 10, None)
    assert all(x["fields"] == {} and gone not in x["error"] for x in letters)
    webhook_fake.poison = set()
    retried = run_now(engine, s, RETRY_TRIGGER)  # the retry reads the seal
    assert retried["removed"] == 1 and engine.runs.dead_letters(s["id"], 10, None) == []
    assert pros[gone] in webhook_fake.members("removed")


def test_hubspot_flags_an_erased_contact_without_creating_one(engine, store, settings, sync_settings, hubspot_fake):
    pros = people(store, settings, 2)
    first, second = sorted(pros)
    seg = segment(engine.feed.driver, settings)
    s = sync(engine, seg, destination(engine, "hubspot", {"membershipProperty": "cdp_pro"},
                                      {"accessToken": HS_TOKEN})["id"])
    run_now(engine, s)
    del hubspot_fake.contacts[second]  # the CRM's own GDPR delete already removed this one
    upserts = hubspot_fake.count("POST")
    with TestClient(create_app(sync_settings)) as client:
        erase(client, first)
        erase(client, second)
    run = run_now(engine, s)
    assert (run["status"], run["removed"]) == ("succeeded", 2)
    assert hubspot_fake.count("POST") == upserts  # no upsert: it could create a contact again
    assert sorted(hubspot_fake.updates) == [first, second]
    assert hubspot_fake.contacts[first]["properties"]["cdp_pro"] == "false" and second not in hubspot_fake.contacts


def test_hubspot_gdpr_deletes_an_erased_contact_when_the_destination_says_so(
        engine, store, settings, sync_settings, hubspot_fake):
    pros = people(store, settings, 3)
    first, second, third = sorted(pros)
    seg = segment(engine.feed.driver, settings)
    # No membership property: ordinary exits are not sent, an erasure is (as a GDPR delete).
    s = sync(engine, seg, destination(engine, "hubspot", {"gdprDelete": True}, {"accessToken": HS_TOKEN})["id"])
    assert run_now(engine, s)["added"] == 3
    set_plan(store, settings, [third], "free")
    upkeep(engine.feed.driver, settings, [pros[third]])
    with TestClient(create_app(sync_settings)) as client:
        erase(client, first)
    run = run_now(engine, s)
    assert (run["status"], run["removed"], run["skipped"]) == ("succeeded", 1, 1)  # third's exit: skipped
    assert hubspot_fake.gdpr_deleted == [first] and hubspot_fake.updates == []
    assert first not in hubspot_fake.contacts and {second, third} <= set(hubspot_fake.contacts)


def test_gdpr_delete_must_be_a_boolean(engine):
    from app.ingest.messages import FieldError

    with pytest.raises(FieldError) as err:
        destination(engine, "hubspot", {"gdprDelete": "yes"}, {"accessToken": HS_TOKEN})
    assert err.value.field == "config.gdprDelete"


def test_seals_go_with_the_feed_entries(engine, store, settings, sync_settings, webhook_fake, monkeypatch):
    pros = people(store, settings, 1)
    seg = segment(engine.feed.driver, settings)
    sync(engine, seg, destination(engine, "webhook", {"url": webhook_fake.url},
                                  {"signingSecret": webhook_fake.secret})["id"])
    with TestClient(create_app(sync_settings)) as client:
        erase(client, next(iter(pros)))
    driver = engine.feed.driver
    assert count(driver, "MATCH (x:ErasedProfile) RETURN count(x)") == 1

    for name in ("neo4j_uri", "neo4j_password", "redis_url"):
        monkeypatch.setenv(f"CDP_{name.upper()}", getattr(settings, name))
    get_settings.cache_clear()
    try:
        from workers.segments import run_refresh

        days = get_settings().segment_change_retention_days
        at = count(driver, "MATCH (x:ErasedProfile) RETURN x.at")
        run_refresh(everything=True, now=at + days * DAY_MS)  # the retention not yet passed: kept
        assert count(driver, "MATCH (x:ErasedProfile) RETURN count(x)") == 1
        run_refresh(everything=True, now=at + days * DAY_MS + 1)
        assert count(driver, "MATCH (x:ErasedProfile) RETURN count(x)") == 0
    finally:
        get_settings.cache_clear()
