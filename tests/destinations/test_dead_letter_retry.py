"""Dead letters are sent again on request, as the profiles are now: a refused add of a member still
in the segment is added, a refused remove of one that left is removed, a letter the profile's state
has overtaken is dropped; sent or dropped, the letters go; refused again, they stay. The sync's
feed cursor is not moved."""

from app.destinations.runs import RETRY_TRIGGER
from tests.destinations.conftest import destination, people, run_now, segment, set_plan, sync, upkeep
from tests.helpers import ADMIN


def test_dead_letters_are_sent_again_as_the_profiles_are_now(engine, store, settings, webhook_fake):
    pros = people(store, settings, 5)
    a, b, c, *_ = sorted(pros)  # a: add refused, still a member; b: remove refused; c: add refused, left
    seg = segment(engine.feed.driver, settings)
    s = sync(engine, seg, destination(engine, "webhook", {"url": webhook_fake.url},
                                      {"signingSecret": webhook_fake.secret})["id"])
    webhook_fake.poison |= {pros[a], pros[c]}
    first = run_now(engine, s)
    assert (first["status"], first["added"], first["failed"]) == ("partial", 3, 2)

    set_plan(store, settings, [b, c], "free")
    upkeep(engine.feed.driver, settings, [pros[b], pros[c]])
    webhook_fake.poison = {pros[b]}
    second = run_now(engine, s)
    assert (second["removed"], second["failed"]) == (1, 1)  # c's exit sent (idempotent), b's refused
    cursor = engine.store.sync(s["id"])["cursor"]
    assert {x["op"] for x in engine.runs.dead_letters(s["id"], 10, None)} == {"add", "remove"}

    webhook_fake.poison = set()
    run = run_now(engine, s, RETRY_TRIGGER)
    assert (run["status"], run["trigger"], run["mode"]) == ("succeeded", "dead_letters", "retry")
    assert (run["added"], run["removed"], run["skipped"], run["failed"]) == (1, 1, 1, 0)  # c: no longer a member
    assert pros[a] in webhook_fake.members("added") and pros[b] in webhook_fake.members("removed")
    assert pros[c] not in webhook_fake.members("added")
    assert engine.runs.dead_letters(s["id"], 10, None) == []
    assert engine.store.sync(s["id"])["cursor"] == cursor  # the feed's position is the diff runs'


def test_a_letter_refused_again_stays_for_the_next_retry(engine, store, settings, webhook_fake):
    pros = people(store, settings, 3)
    poison = pros[min(pros)]
    seg = segment(engine.feed.driver, settings)
    s = sync(engine, seg, destination(engine, "webhook", {"url": webhook_fake.url},
                                      {"signingSecret": webhook_fake.secret})["id"])
    webhook_fake.poison.add(poison)
    run_now(engine, s)
    [before] = engine.runs.dead_letters(s["id"], 10, None)
    run = run_now(engine, s, RETRY_TRIGGER)
    assert (run["status"], run["added"], run["failed"]) == ("partial", 0, 1)
    [after] = engine.runs.dead_letters(s["id"], 10, None)
    assert after["profileId"] == poison and after["id"] != before["id"] and after["runId"] == run["id"]
    assert run_now(engine, s, RETRY_TRIGGER)["failed"] == 1  # the new letter is the next retry's


def test_retry_over_the_api(client, redis_client, engine, store, settings, webhook_fake):
    people(store, settings, 1)
    seg = segment(engine.feed.driver, settings)
    s = sync(engine, seg, destination(engine, "webhook", {"url": webhook_fake.url},
                                      {"signingSecret": webhook_fake.secret})["id"])
    r = client.post(f"/v1/syncs/{s['id']}/dead-letters/retry", headers=ADMIN)
    assert r.status_code == 202, r.text
    assert (r.json()["run"]["trigger"], r.json()["run"]["status"]) == ("dead_letters", "queued")
    busy = client.post(f"/v1/syncs/{s['id']}/dead-letters/retry", headers=ADMIN)
    assert busy.status_code == 409 and r.json()["run"]["id"] in busy.json()["error"]
    missing = client.post("/v1/syncs/no-such-sync/dead-letters/retry", headers=ADMIN)
    assert missing.status_code == 404
    assert client.post(f"/v1/syncs/{s['id']}/dead-letters/retry").status_code == 401


def test_a_retry_ends_when_the_workers_clock_lags(engine, store, settings, webhook_fake, monkeypatch):
    # A worker whose clock is behind the API's stamps the letters it makes before the run's createdAt:
    # the retry must still not take its own letters again (it would go round until the clocks crossed).
    from app.destinations import runs as runs_module

    pros = people(store, settings, 1)
    seg = segment(engine.feed.driver, settings)
    s = sync(engine, seg, destination(engine, "webhook", {"url": webhook_fake.url},
                                      {"signingSecret": webhook_fake.secret})["id"])
    webhook_fake.poison |= set(pros.values())
    run_now(engine, s)
    run = engine.runs.create(engine.store.sync(s["id"]), RETRY_TRIGGER)  # on the API's clock
    clock = runs_module.now_ms
    monkeypatch.setattr(runs_module, "now_ms", lambda: clock() - 10_000)  # the worker's
    pages = []
    real_page = engine.runs.dead_letters_to_retry

    def counted(*args):
        pages.append(args)
        assert len(pages) < 5, "the retry keeps taking the letters it made"
        return real_page(*args)

    monkeypatch.setattr(engine.runs, "dead_letters_to_retry", counted)
    assert engine.execute(run["id"]).outcome == "done"
    done = engine.runs.get(run["id"])
    assert (done["status"], done["failed"], len(pages)) == ("partial", 1, 2), done["errors"]
    assert len(engine.runs.dead_letters(s["id"], 10, None)) == 1
