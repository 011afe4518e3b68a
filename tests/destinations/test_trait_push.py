"""Trait changes of current members reach the destination between runs: ingest's post-commit hook
records touched profiles, the push sends only members whose mapped fields changed."""

from app.destinations.traitpush import TOUCHED_KEY, TraitPusher
from tests.destinations.conftest import destination, people, run_now, segment, sync, upkeep
from tests.helpers import ADMIN, basic

HS_TOKEN = "pat-na1-test-token"


def test_changed_traits_of_members_are_pushed_once(client, engine, store, settings, hubspot_fake):
    pros = people(store, settings, 6, company="Acme")
    outsider = people(store, settings, 1, plan="free")
    seg = segment(engine.feed.driver, settings)
    dest = destination(engine, "hubspot", {}, {"accessToken": HS_TOKEN})
    s = sync(engine, seg, dest["id"], mapping={"company": "traits.company"})
    run_now(engine, s)
    upserts = hubspot_fake.count("POST")

    emails = sorted(pros)
    # Through the HTTP API, so the app's post-commit hook is what records the touched profiles.
    batch = [
        {"type": "identify", "anonymousId": f"a-{e}", "traits": {"email": e, "company": "Globex"}}
        for e in emails[:2]
    ]
    batch += [
        {
            "type": "track",
            "anonymousId": f"a-{emails[2]}",
            "event": "Viewed",
            "context": {"traits": {"email": emails[2]}},
        }
    ]  # touched, nothing mapped changed
    batch += [
        {
            "type": "identify",
            "anonymousId": "a-out",
            "traits": {"email": next(iter(outsider)), "company": "Initech"},
        }
    ]
    r = client.post("/v1/batch", json={"batch": batch}, headers=basic())
    assert r.status_code == 200, r.text
    assert engine.redis.scard(TOUCHED_KEY) == 4

    pushed = TraitPusher(engine).push_all()
    assert pushed == {s["id"]: 2}
    assert hubspot_fake.count("POST") == upserts + 1
    assert [hubspot_fake.contacts[e]["properties"]["company"] for e in emails[:3]] == [
        "Globex",
        "Globex",
        "Acme",
    ]
    assert next(iter(outsider)) not in hubspot_fake.contacts
    runs = engine.runs.list(s["id"], 10)
    assert runs[0]["trigger"] == "traits" and (runs[0]["updated"], runs[0]["added"]) == (2, 0) and runs[0]["status"] == "succeeded"
    # The cursor of the diff runs is untouched by pushes.
    assert engine.store.sync(s["id"])["cursor"] == runs[1]["headSeq"]

    # Nothing new touched: nothing sent.
    assert TraitPusher(engine).push_all() == {s["id"]: 0}
    assert hubspot_fake.count("POST") == upserts + 1


def test_no_push_before_the_first_export_or_when_disabled(client, engine, store, settings, hubspot_fake):
    pros = people(store, settings, 2)
    seg = segment(engine.feed.driver, settings)
    dest = destination(engine, "hubspot", {}, {"accessToken": HS_TOKEN})
    sync(engine, seg, dest["id"])  # never run: the first full export will carry everything
    off = sync(engine, seg, dest["id"], options={"pushTraitChanges": False})
    run_now(engine, off)
    before = hubspot_fake.count("POST")
    engine.redis.sadd(TOUCHED_KEY, *pros.values())
    assert TraitPusher(engine).push_all() == {}
    assert hubspot_fake.count("POST") == before


def test_members_no_run_has_delivered_get_no_update(client, engine, store, settings, webhook_fake):
    first = people(store, settings, 1)
    seg = segment(engine.feed.driver, settings)
    s = sync(engine, seg, destination(engine, "webhook", {"url": webhook_fake.url},
                                      {"signingSecret": webhook_fake.secret})["id"])
    run_now(engine, s)
    late = people(store, settings, 1)  # entered after the run: the next run adds it
    upkeep(engine.feed.driver, settings, late.values())
    engine.redis.sadd(TOUCHED_KEY, *first.values(), *late.values())
    r = client.post("/v1/identify", json={"anonymousId": "a-late", "traits": {"email": next(iter(late)),
                                                                             "firstName": "Changed"}},
                    headers=basic())
    assert r.status_code == 200, r.text
    assert TraitPusher(engine).push_all() == {s["id"]: 0}
    assert webhook_fake.members("updated") == set()

    run = run_now(engine, s)
    assert run["added"] == 1 and webhook_fake.members("added") == set(first.values()) | set(late.values())
    client.post("/v1/identify", json={"anonymousId": "a-late", "traits": {"email": next(iter(late)),
                                                                          "firstName": "Again"}}, headers=basic())
    assert TraitPusher(engine).push_all() == {s["id"]: 1}
    assert webhook_fake.members("updated") == set(late.values())


def test_pushes_turned_on_later_reach_the_members_delivered_before(client, engine, store, settings, webhook_fake):
    pros = people(store, settings, 2)
    seg = segment(engine.feed.driver, settings)
    s = sync(engine, seg, destination(engine, "webhook", {"url": webhook_fake.url},
                                      {"signingSecret": webhook_fake.secret})["id"],
             options={"pushTraitChanges": False})
    run_now(engine, s)
    r = client.patch(f"/v1/syncs/{s['id']}", json={"options": {"pushTraitChanges": True}}, headers=ADMIN)
    assert r.status_code == 200, r.text
    email = min(pros)
    r = client.post("/v1/identify", json={"anonymousId": "a-on", "traits": {"email": email, "firstName": "New"}},
                    headers=basic())
    assert r.status_code == 200, r.text
    assert TraitPusher(engine).push_all() == {s["id"]: 1}
    assert webhook_fake.members("updated") == {pros[email]}
