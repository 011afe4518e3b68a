"""The destinations and syncs API: good input, bad input (400 naming the field), 404, 401, 409."""

import pytest

from app.destinations.models import DestinationIn
from app.ingest.messages import FieldError
from tests.destinations.conftest import segment
from tests.helpers import ADMIN

RESEND = {
    "name": "newsletter",
    "type": "resend",
    "config": {"audienceId": "aud_1"},
    "secrets": {"apiKey": "re_live_abcdefghijkl1234"},
    "rateLimit": {"perSecond": 2},
}


@pytest.fixture
def api(client, redis_client):
    return client


def _dest(api, body=RESEND) -> dict:
    r = api.post("/v1/destinations", json=body, headers=ADMIN)
    assert r.status_code == 201, r.text
    return r.json()


def test_destination_crud_never_returns_secrets_in_clear(api, clean_db):
    d = _dest(api)
    assert d["secrets"] == {"apiKey": "****1234"} and d["config"] == {"audienceId": "aud_1"}
    assert d["rateLimit"] == {"perSecond": 2.0, "burst": None}
    for r in (
        api.get(f"/v1/destinations/{d['id']}", headers=ADMIN),
        api.get("/v1/destinations", headers=ADMIN),
    ):
        assert r.status_code == 200 and "abcdefghijkl" not in r.text
    stored = clean_db.execute_query("MATCH (d:Destination) RETURN properties(d) AS p").records[0]["p"]
    assert "abcdefghijkl" not in str(stored)  # sealed at rest too

    r = api.patch(
        f"/v1/destinations/{d['id']}",
        json={"name": "renamed", "secrets": {"apiKey": "re_new_key_000005678"}},
        headers=ADMIN,
    )
    assert (
        r.status_code == 200 and r.json()["name"] == "renamed" and r.json()["secrets"]["apiKey"] == "****5678"
    )
    assert api.delete(f"/v1/destinations/{d['id']}", headers=ADMIN).status_code == 204
    assert api.get(f"/v1/destinations/{d['id']}", headers=ADMIN).status_code == 404


@pytest.mark.parametrize(
    "body,field",
    [
        ({**RESEND, "type": "mailchimp"}, "type"),
        ({**RESEND, "config": {}}, "config.audienceId"),
        ({**RESEND, "secrets": {}}, "secrets.apiKey"),
        ({**RESEND, "config": {"audienceId": "a", "colour": "red"}}, "config.colour"),
        ({**RESEND, "rateLimit": {"perSecond": 0}}, "rateLimit.perSecond"),
        ({**RESEND, "name": ""}, "name"),
        (
            {"name": "w", "type": "webhook", "config": {"url": "ftp://x"}, "secrets": {"signingSecret": "s"}},
            "config.url",
        ),
        (
            {
                "name": "h",
                "type": "hubspot",
                "config": {"membershipProperty": "Bad Name"},
                "secrets": {"accessToken": "t"},
            },
            "config.membershipProperty",
        ),
        *[
            ({"name": "w", "type": "webhook", "config": {"url": "https://hooks.example/x", "headers": headers},
              "secrets": {"signingSecret": "s"}}, field)
            for headers, field in [
                ({"X-Bad\r\nInjected": "1"}, "config.headers"),  # a line break would split the request
                ({"X Space": "1"}, "config.headers"),
                ({"X-Token": "a\r\nX-Other: b"}, "config.headers.X-Token"),
                ({"X-Team": "café"}, "config.headers.X-Team"),  # the HTTP client sends ASCII only
                ({"Content-Length": "5"}, "config.headers.Content-Length"),  # the sync frames its own body
                ({"x-cdp-signature": "forged"}, "config.headers.x-cdp-signature"),
                ({f"X-H{n}": "v" for n in range(21)}, "config.headers"),
            ]
        ],
    ],
)
def test_bad_destinations_name_the_field(api, body, field):
    r = api.post("/v1/destinations", json=body, headers=ADMIN)
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field


def test_sync_crud_run_and_runs(api, clean_db, settings):
    seg = segment(clean_db, settings)
    d = _dest(api)
    r = api.post(
        "/v1/syncs",
        json={
            "segmentId": seg,
            "destinationId": d["id"],
            "schedule": {"cron": "*/15 * * * *"},
            "mapping": {"first_name": ["traits.givenName", "traits.firstName"]},
        },
        headers=ADMIN,
    )
    assert r.status_code == 201, r.text
    s = r.json()
    assert s["mapping"]["first_name"] == ["traits.givenName", "traits.firstName"] and s["nextRunAt"] > 0
    assert s["activeRun"] is None and api.get(f"/v1/syncs/{s['id']}", headers=ADMIN).json()["activeRun"] is None
    assert api.get(f"/v1/syncs/{s['id']}", headers=ADMIN).json()["id"] == s["id"]
    assert [x["id"] for x in api.get("/v1/syncs", headers=ADMIN).json()["syncs"]] == [s["id"]]

    run = api.post(f"/v1/syncs/{s['id']}/run", headers=ADMIN)
    assert run.status_code == 202 and run.json()["run"]["status"] == "queued"
    again = api.post(f"/v1/syncs/{s['id']}/run", headers=ADMIN)
    assert again.status_code == 409 and run.json()["run"]["id"] in again.json()["error"]
    # The queued run shows on the sync before it finishes (the last-run fields name finished runs).
    active = api.get(f"/v1/syncs/{s['id']}", headers=ADMIN).json()
    assert active["activeRun"]["id"] == run.json()["run"]["id"] and active["activeRun"]["status"] == "queued"
    assert active["lastRunId"] is None
    assert api.get("/v1/syncs", headers=ADMIN).json()["syncs"][0]["activeRun"]["id"] == run.json()["run"]["id"]
    runs = api.get(f"/v1/syncs/{s['id']}/runs", headers=ADMIN).json()["runs"]
    assert [x["id"] for x in runs] == [run.json()["run"]["id"]]
    one = api.get(f"/v1/syncs/{s['id']}/runs/{runs[0]['id']}", headers=ADMIN)
    assert one.status_code == 200 and one.json()["trigger"] == "manual"
    assert api.get(f"/v1/syncs/{s['id']}/dead-letters", headers=ADMIN).json() == {"deadLetters": []}

    r = api.patch(f"/v1/syncs/{s['id']}", json={"clearSchedule": True, "enabled": False}, headers=ADMIN)
    assert r.status_code == 200 and r.json()["schedule"] is None and r.json()["nextRunAt"] is None
    assert r.json()["activeRun"]["id"] == run.json()["run"]["id"]  # still queued
    assert api.delete(f"/v1/destinations/{d['id']}", headers=ADMIN).status_code == 409  # a sync uses it
    refused = api.delete(f"/v1/segments/{seg}", headers=ADMIN)  # so does the segment
    assert refused.status_code == 409 and refused.json()["field"] == "id" and s["id"] in refused.json()["error"]
    assert api.delete(f"/v1/syncs/{s['id']}", headers=ADMIN).status_code == 204
    assert api.get(f"/v1/syncs/{s['id']}/runs", headers=ADMIN).status_code == 404
    assert api.delete(f"/v1/segments/{seg}", headers=ADMIN).status_code == 200


@pytest.mark.parametrize(
    "change,field",
    [
        ({"segmentId": "no-such-segment"}, "segmentId"),
        ({"destinationId": "no-such-destination"}, "destinationId"),
        ({"schedule": {"cron": "every day"}}, "schedule.cron"),
        ({"schedule": {"cron": "0 * * * *", "intervalSeconds": 60}}, "schedule"),
        ({"schedule": {"intervalSeconds": 1}}, "schedule.intervalSeconds"),
        ({"mapping": {"nickname": "traits.nick"}}, "mapping.nickname"),
        ({"mapping": {"first_name": "cookies.name"}}, "mapping.first_name"),
        ({"mapping": {"email": []}}, "mapping.email"),
        ({"options": {"exitAction": "explode"}}, "options.exitAction"),
    ],
)
def test_bad_syncs_name_the_field(api, clean_db, settings, change, field):
    seg = segment(clean_db, settings)
    body = {"segmentId": seg, "destinationId": _dest(api)["id"], **change}
    r = api.post("/v1/syncs", json=body, headers=ADMIN)
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field


@pytest.mark.parametrize(
    "method,path",
    [
        ("get", "/v1/destinations/nope"),
        ("patch", "/v1/destinations/nope"),
        ("delete", "/v1/destinations/nope"),
        ("get", "/v1/syncs/nope"),
        ("patch", "/v1/syncs/nope"),
        ("delete", "/v1/syncs/nope"),
        ("post", "/v1/syncs/nope/run"),
        ("get", "/v1/syncs/nope/runs"),
        ("get", "/v1/syncs/nope/runs/r"),
        ("get", "/v1/syncs/nope/dead-letters"),
        ("delete", "/v1/syncs/nope/dead-letters/x"),
    ],
)
def test_unknown_ids_are_404_and_missing_tokens_401(api, method, path):
    kwargs = {"json": {}} if method == "patch" else {}
    r = getattr(api, method)(path, headers=ADMIN, **kwargs)
    assert r.status_code == 404, r.text
    assert r.json()["field"]
    r = getattr(api, method)(path, **kwargs)
    assert r.status_code == 401
    r = getattr(api, method)(path, headers={"Authorization": "Bearer wrong"}, **kwargs)
    assert r.status_code == 401


def test_creating_without_a_token_is_401(api):
    assert api.post("/v1/destinations", json=RESEND).status_code == 401
    assert api.post("/v1/syncs", json={}).status_code == 401


def test_webhook_headers_that_are_valid_are_kept(api):
    headers = {"X-Team": "growth", "X-Api-Version": "2026-01-01", "Accept": "application/json"}
    body = {"name": "w", "type": "webhook", "config": {"url": "https://hooks.example/x", "headers": headers},
            "secrets": {"signingSecret": "s"}}
    r = api.post("/v1/destinations", json=body, headers=ADMIN)
    assert r.status_code == 201, r.text
    assert r.json()["config"]["headers"] == headers


def test_errors_read_plainly(api, clean_db, settings):
    r = api.post("/v1/destinations", content=b'{"name": "x", ', headers={**ADMIN, "Content-Type": "application/json"})
    assert (r.status_code, r.json()["field"]) == (400, "body") and r.json()["error"].startswith("invalid JSON: ")
    seg, d = segment(clean_db, settings), _dest(api)
    r = api.post("/v1/syncs", json={"segmentId": seg, "destinationId": d["id"], "schedule": {"cron": "61 * * * *"}},
                 headers=ADMIN)
    assert (r.status_code, r.json()["field"]) == (400, "schedule.cron"), r.text
    assert r.json()["error"].startswith("invalid cron expression")  # not pydantic's "Value error, ..."
    s = api.post("/v1/syncs", json={"segmentId": seg, "destinationId": d["id"]}, headers=ADMIN).json()
    assert api.post(f"/v1/syncs/{s['id']}/run", headers=ADMIN).status_code == 202
    busy = api.post(f"/v1/syncs/{s['id']}/run", headers=ADMIN).json()
    assert (busy["code"], busy["field"]) == ("conflict", "id")


def test_a_segment_deleted_during_sync_creation_leaves_no_sync(engine, store, settings, monkeypatch):
    """The create locks the segment and finds it gone (the window between the check and the write)."""
    from app.destinations.models import SyncIn

    seg = segment(engine.feed.driver, settings)
    dest = engine.store.create_destination(DestinationIn(name="w", type="webhook", config={"url": "http://127.0.0.1:9/x"},
                                                        secrets={"signingSecret": "s" * 16}))
    engine.feed.driver.execute_query("MATCH (s:Segment {id: $id}) DETACH DELETE s", id=seg)
    answers = iter([True, False])  # exists at the check, gone when the create finds nothing
    monkeypatch.setattr(engine.feed, "exists", lambda _id: next(answers))
    with pytest.raises(FieldError) as err:
        engine.store.create_sync(SyncIn(segment_id=seg, destination_id=dest["id"]), engine.feed)
    assert err.value.field == "segmentId"
    assert engine.store.list_syncs(10) == []


def test_a_destination_delete_waits_for_a_sync_being_created_and_then_refuses(engine, settings):
    """The create holds the destination's lock until it commits; the delete takes that lock before
    it counts syncs, so it waits, then sees the new sync (before, it counted none and deleted)."""
    import threading

    from app.db import query

    seg = segment(engine.feed.driver, settings)
    dest = engine.store.create_destination(DestinationIn(name="w", type="webhook", config={"url": "http://127.0.0.1:9/x"},
                                                        secrets={"signingSecret": "s" * 16}))
    props = {"id": "racing-sync", "segmentId": seg, "destinationId": dest["id"], "createdAt": 1}
    outcome: dict = {}

    def delete() -> None:
        try:
            engine.store.delete_destination(dest["id"])
            outcome["deleted"] = True
        except FieldError as exc:
            outcome["refused"] = exc

    with engine.feed.driver.session(database=settings.neo4j_database) as session:
        tx = session.begin_transaction()
        assert tx.run(query("destinations/create_sync"), props=props).single() is not None
        deleting = threading.Thread(target=delete)
        deleting.start()
        # Wait until Neo4j reports the delete's transaction blocked on the lock (observed, not slept).
        blocked = "SHOW TRANSACTIONS YIELD status, currentQuery WHERE status STARTS WITH 'Blocked' RETURN count(*) AS n"
        with engine.feed.driver.session(database=settings.neo4j_database) as probe:
            for _ in range(2000):
                if probe.run(blocked).single()["n"] > 0 or not deleting.is_alive():
                    break
        assert deleting.is_alive(), outcome  # it waited for the create
        tx.commit()
    deleting.join(timeout=30)
    assert "refused" in outcome and outcome["refused"].status == 409, outcome
    assert engine.store.destination(dest["id"])["id"] == dest["id"]
