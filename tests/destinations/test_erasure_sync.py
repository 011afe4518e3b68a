"""A GDPR erasure reaches the destinations: the erased person's exit is sent as a removal, addressed
by identifiers the erasure sealed for it (nothing else is left of the person), and the seal is
deleted with the feed entries it was kept for."""

from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import get_settings
from tests.destinations.conftest import destination, people, run_now, segment, sync
from tests.helpers import ADMIN, count

DAY_MS = 86_400_000


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


def test_nothing_is_kept_for_a_person_no_synced_segment_holds(engine, store, settings, sync_settings):
    pros = people(store, settings, 2, plan="free")
    segment(engine.feed.driver, settings)  # 'pro': neither is a member, and no sync sends it anyway
    with TestClient(create_app(sync_settings)) as client:
        erase(client, min(pros))
    assert count(engine.feed.driver, "MATCH (x:ErasedProfile) RETURN count(x)") == 0


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
