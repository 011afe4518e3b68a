"""Bulk export over the API and `cdp export`, and an event export read back by `cdp import`."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import orjson
import pytest
from typer.testing import CliRunner

from app import export
from app.cli import app as cdp_app
from app.db import query
from app.settings import get_settings
from tests.helpers import ADMIN, WIPE_GRAPH, basic, partition, plan_operators

runner = CliRunner()


def day(n: int, second: int = 0, ms: int = 0) -> str:
    return f"2026-01-{n:02d}T00:00:{second:02d}.{ms:03d}Z"


def at(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


def send(client, batch: list[dict], key: str = "dev-web-key", **body) -> None:
    r = client.post("/v1/batch", json={"batch": batch, **body}, headers=basic(key))
    assert r.status_code == 200, r.text


def get(client, path: str, **params):
    return client.get(path, params=params, headers=ADMIN)


def pages(client, path: str, items: str, **params) -> list[list[dict]]:
    out, cursor = [], None
    while True:
        r = get(client, path, **params, **({"cursor": cursor} if cursor else {}))
        assert r.status_code == 200, r.text
        body = r.json()
        out.append(body[items])
        cursor = body["next"]
        if cursor is None:
            return out
        assert body[items], "a cursor must not point at an empty page"
        assert len(out) < 100


def people(client) -> None:
    """Three sources, ties on one millisecond, merges, an untimed event, clock skew (the mobile batch:
    timestamped now, minus its skew), an extra field."""
    send(client, [
        {"type": "identify", "messageId": "e-01", "anonymousId": "a1", "timestamp": day(1),
         "traits": {"email": "Ann@Mail.io", "plan": "free"}},
        {"type": "page", "messageId": "e-03", "anonymousId": "a1", "name": "Home", "timestamp": day(2)},
        {"type": "track", "messageId": "e-02", "anonymousId": "a1", "event": "Viewed", "timestamp": day(2),
         "properties": {"sku": "X-1", "price": 12.5}},
        {"type": "track", "messageId": "e-04", "anonymousId": "a2", "event": "Viewed", "timestamp": day(2)},
        {"type": "track", "messageId": "e-05", "userId": "u2", "event": "Signed Up", "timestamp": day(3),
         "context": {"traits": {"name": "Bo"}}, "campaignRef": "spring"},
    ])
    # Skewed: the device's clock is 10 s ahead of sentAt's, so the event is stored 10 s earlier.
    send(client, [{"type": "identify", "messageId": "e-06", "userId": "u1", "anonymousId": "a1",
                   "originalTimestamp": day(4, 20), "traits": {"plan": "pro"}},
                  {"type": "alias", "messageId": "e-07", "userId": "u1", "previousId": "a2",
                   "timestamp": day(4, 21)}],
         key="dev-mobile-key", sentAt=day(4, 30))
    send(client, [{"type": "track", "messageId": "e-08", "userId": "u1", "event": "Order Completed",
                   "properties": {"total": 30}}], key="dev-server-key")  # untimed: happened on arrival


# --- events -------------------------------------------------------------------------------------

def test_events_come_oldest_first_once_each_with_their_current_profile(client):
    people(client)
    served = pages(client, "/v1/export/events", "events", limit=2)
    assert all(len(p) <= 2 for p in served) and len(served) == 4
    events = [e for p in served for e in p]
    ids = [e["messageId"] for e in events]
    assert ids == ["e-01", "e-02", "e-03", "e-04", "e-05", "e-06", "e-07", "e-08"]  # ties by messageId
    by_id = {e["messageId"]: e for e in events}
    u1 = get(client, "/v1/profiles/user_id:u1").json()["id"]
    assert {by_id[i]["profileId"] for i in ("e-01", "e-02", "e-04", "e-06", "e-08")} == {u1}  # after the merges
    assert by_id["e-05"]["profileId"] != u1
    assert [e["source"] for e in events] == ["web"] * 5 + ["mobile"] * 2 + ["server"]
    # Each line is the event as GET /v1/events shows it.
    single = get(client, "/v1/events/e-02").json()
    assert {k: v for k, v in single.items() if k != "identifier"} == {
        k: v for k, v in by_id["e-02"].items() if k != "identifier"}
    assert by_id["e-02"]["properties"] == {"sku": "X-1", "price": 12.5}
    assert by_id["e-05"]["campaignRef"] == "spring"
    skewed = by_id["e-06"]  # stored 10 s before it was received, as its device's clock ran 10 s ahead
    assert skewed["originalTimestamp"] == day(4, 20) and skewed["sentAt"] == day(4, 30)
    assert at(skewed["receivedAt"]) - at(skewed["timestamp"]) == timedelta(seconds=10)


def test_event_filters_and_a_window_that_ends_before_until(client):
    people(client)

    def ids(**params) -> list[str]:
        return [e["messageId"] for p in pages(client, "/v1/export/events", "events", **params) for e in p]

    # [since, until): back-to-back windows export every event once.
    windows = ids(until=day(2)), ids(since=day(2), until=day(3)), ids(since=day(3))
    assert windows == (["e-01"], ["e-02", "e-03", "e-04"], ["e-05", "e-06", "e-07", "e-08"])
    assert ids(source="mobile") == ["e-06", "e-07"]
    assert ids(type="track,alias") == ["e-02", "e-04", "e-05", "e-07", "e-08"]
    assert ids(type=["page", "identify"], source="web") == ["e-01", "e-03"]
    assert ids(since="2030-01-01") == []
    # A cursor keeps the window it was issued in: resuming with a tighter until stops there.
    page = get(client, "/v1/export/events", limit=3).json()
    resumed = get(client, "/v1/export/events", cursor=page["next"], until=day(3)).json()
    assert [e["messageId"] for e in resumed["events"]] == ["e-04"] and resumed["next"] is None


@pytest.mark.parametrize(("params", "field"), [
    ({"limit": "0"}, "limit"), ({"limit": "5001"}, "limit"), ({"limit": "many"}, "limit"),
    ({"since": "yesterday"}, "since"), ({"until": "2026-13-01"}, "until"),
    ({"since": day(3), "until": day(3)}, "since"), ({"type": "click"}, "type"), ({"source": " "}, "source"),
    ({"cursor": "not-a-cursor"}, "cursor"),
])
def test_bad_event_export_arguments_are_400_naming_the_field(client, params, field):
    r = get(client, "/v1/export/events", **params)
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field


def test_cursors_of_other_listings_are_refused(client):
    send(client, [{"type": "track", "messageId": f"c-{n}", "userId": f"u{n}", "event": "E",
                   "timestamp": day(1, n)} for n in range(3)])
    timeline_cursor = get(client, "/v1/profiles/user_id:u1/events", limit=1).json()["next"]
    profiles_cursor = get(client, "/v1/export/profiles", limit=1).json()["next"]
    events_cursor = get(client, "/v1/export/events", limit=1).json()["next"]
    search_cursor = get(client, "/v1/profiles", q="user_id:u", limit=1).json()["next"]
    assert None not in (profiles_cursor, events_cursor, search_cursor)
    for path, cursor in (("/v1/export/events", profiles_cursor), ("/v1/export/profiles", events_cursor),
                         ("/v1/export/profiles", search_cursor)):
        r = get(client, path, cursor=cursor)
        assert (r.status_code, r.json()["field"]) == (400, "cursor"), (path, r.text)
    if timeline_cursor is not None:  # one event per profile: the timeline has no next page
        assert get(client, "/v1/export/events", cursor=timeline_cursor).status_code == 400


def test_an_event_left_without_its_identifier_does_not_end_the_export(client, clean_db):
    # An erasure deletes identifiers before it deletes a batch that was in flight; such an event, for
    # a moment without SEEN_AS, must still count towards its page.
    send(client, [{"type": "track", "messageId": f"o-{n}", "userId": f"u{n}", "event": "E",
                   "timestamp": day(1, n)} for n in range(5)])
    clean_db.execute_query("MATCH (e:Event {messageId: 'o-1'})-[r:SEEN_AS]->() DELETE r")
    ids = [e["messageId"] for p in pages(client, "/v1/export/events", "events", limit=2) for e in p]
    assert ids == [f"o-{n}" for n in range(5)]
    orphan = get(client, "/v1/export/events", limit=5).json()["events"][1]
    assert (orphan["messageId"], orphan["profileId"]) == ("o-1", None)


def test_export_needs_an_admin_token(client):
    for path in ("/v1/export/events", "/v1/export/profiles"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers=basic()).status_code == 401


def test_the_event_page_seeks_the_time_index_in_order(driver):
    # A page reads its window from the event_ts index in the index's order and stops at the limit:
    # it never sorts the whole graph's events.
    q = export.event_export(limit=10)
    records = driver.execute_query("EXPLAIN " + query("export/events_page"), **q.page_params())
    ops = plan_operators(records.summary.plan)
    names = [name for name, _ in ops]
    seek = [details for name, details in ops if name.startswith("NodeIndexSeekByRange")]
    assert seek and "Event(ts)" in seek[0], ops
    assert "PartialTop" in names and "Sort" not in names and "Top" not in names, ops


# --- profiles -----------------------------------------------------------------------------------

def test_profiles_are_live_documents_by_id(client):
    people(client)
    served = pages(client, "/v1/export/profiles", "profiles", limit=1)
    docs = [d for p in served for d in p]
    assert len(docs) == 2 and [d["id"] for d in docs] == sorted(d["id"] for d in docs)
    for doc in docs:
        assert get(client, f"/v1/profiles/{doc['id']}").json() == doc
    ann = next(d for d in docs if {"type": "user_id", "value": "u1"} in
               [{"type": i["type"], "value": i["value"]} for i in d["identifiers"]])
    assert ann["traits"]["plan"]["value"] == "pro" and ann["traits"]["email"]["value"] == "Ann@Mail.io"
    assert ann["eventCount"] == 7 and ann["computedTraits"]["conversions"] == 1
    assert len(ann["mergedFrom"]) == 1  # a2's profile (by the alias), retired: not exported itself
    seen = [d["id"] for p in pages(client, "/v1/export/profiles", "profiles", seenSince=day(4)) for d in p]
    assert seen == [ann["id"]]


@pytest.mark.parametrize(("params", "field"), [
    ({"limit": "0"}, "limit"), ({"limit": "501"}, "limit"), ({"limit": "1.5"}, "limit"),
    ({"seenSince": "soon"}, "seenSince"), ({"cursor": "!!"}, "cursor"),
])
def test_bad_profile_export_arguments_are_400_naming_the_field(client, params, field):
    r = get(client, "/v1/export/profiles", **params)
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field


def test_an_empty_graph_exports_nothing(client):
    assert get(client, "/v1/export/events").json() == {"events": [], "next": None}
    assert get(client, "/v1/export/profiles").json() == {"profiles": [], "next": None}


# --- cdp export, and cdp import of what it wrote ------------------------------------------------

def cdp(*args: str):
    return runner.invoke(cdp_app, list(args))


def lines(path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_cdp_export_writes_what_the_api_serves(client, cdp_env, tmp_path):
    people(client)
    result = cdp("export", "events", "--out", str(tmp_path / "events.jsonl"), "--page-size", "3")
    assert result.exit_code == 0, result.output
    assert "exported 8 events" in result.stderr
    assert lines(tmp_path / "events.jsonl") == get(client, "/v1/export/events").json()["events"]
    assert not (tmp_path / "events.jsonl.part").exists()

    result = cdp("export", "profiles", "-o", str(tmp_path / "profiles.jsonl"), "--page-size", "1")
    assert result.exit_code == 0, result.output
    assert lines(tmp_path / "profiles.jsonl") == get(client, "/v1/export/profiles").json()["profiles"]

    to_stdout = cdp("export", "events", "--source", "mobile", "--type", "alias")
    assert [json.loads(line)["messageId"] for line in to_stdout.stdout.splitlines()] == ["e-07"]


def test_cdp_export_refuses_bad_arguments(cdp_env, clean_db, tmp_path):
    result = cdp("export", "events", "--since", "last week", "-o", str(tmp_path / "x.jsonl"))
    assert result.exit_code == 2 and "since" in result.stderr
    assert cdp("export", "profiles", "--page-size", "0").exit_code == 2
    assert not list(tmp_path.iterdir())


def test_an_export_that_fails_leaves_no_file(client, cdp_env, tmp_path, monkeypatch):
    people(client)
    real = export.events_page
    served = []

    def failing(driver, database, q):
        if served:
            raise RuntimeError("Neo4j went away")
        served.append(q)
        return real(driver, database, q)

    monkeypatch.setattr(export, "events_page", failing)
    target = tmp_path / "events.jsonl"
    result = cdp("export", "events", "-o", str(target), "--page-size", "2")
    assert result.exit_code != 0 and isinstance(result.exception, RuntimeError)
    assert list(tmp_path.iterdir()) == []


def test_an_event_export_imported_into_an_empty_graph_gives_the_same_events_and_people(
        client, cdp_env, driver, tmp_path):
    people(client)
    before_events = get(client, "/v1/export/events").json()["events"]
    before_people = partition(driver)
    before_profiles = get(client, "/v1/export/profiles").json()["profiles"]
    assert cdp("export", "events", "-o", str(tmp_path / "events.jsonl")).exit_code == 0

    with driver.session() as session:
        session.run(WIPE_GRAPH).consume()
    result = cdp("import", str(tmp_path / "events.jsonl"), "--source", "ignored", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["accepted"], summary["rejected"]) == (8, 0)

    after_events = get(client, "/v1/export/events").json()["events"]
    assert partition(driver) == before_people

    def without_profile(events: list[dict]) -> list[dict]:
        return [{k: v for k, v in e.items() if k != "profileId"} for e in events]

    # Same times (skew corrected the same way, from the stored receivedAt), sources, ids, content.
    # An event that was sent without a time comes back with its stored one as originalTimestamp.
    untimed = before_events[-1]
    assert "originalTimestamp" not in untimed
    untimed["originalTimestamp"] = untimed["timestamp"]
    assert without_profile(after_events) == without_profile(before_events)

    def comparable(doc: dict) -> dict:  # new ids; read in one file, a2 never had a profile to merge
        return {k: v for k, v in doc.items() if k not in ("id", "mergedFrom")}

    after_profiles = get(client, "/v1/export/profiles").json()["profiles"]
    assert sorted(map(comparable, after_profiles), key=str) == sorted(map(comparable, before_profiles), key=str)

    again = json.loads(cdp("import", str(tmp_path / "events.jsonl"), "--json").stdout)
    assert (again["accepted"], again["duplicates"]) == (0, 8)


def test_a_refused_join_goes_to_the_first_by_event_time_delivered_late_or_replayed(
        client, cdp_env, driver, tmp_path):
    """Two people sign in on one device; the later sign-in is delivered first. The device ends with
    the first by event time, as in-order delivery gives it; replaying an export into an empty graph
    gives the same graph."""
    first = {"type": "track", "messageId": "sd-1", "userId": "sd-ann", "anonymousId": "sd-dev", "event": "Login",
             "timestamp": day(1)}
    later = {"type": "track", "messageId": "sd-2", "userId": "sd-bob", "anonymousId": "sd-dev", "event": "Login",
             "timestamp": day(2)}
    send(client, [later])
    send(client, [first])
    in_event_order = {frozenset({"user_id:sd-ann", "anonymous_id:sd-dev"}), frozenset({"user_id:sd-bob"})}
    assert partition(driver) == in_event_order

    assert cdp("export", "events", "-o", str(tmp_path / "events.jsonl")).exit_code == 0
    with driver.session() as session:
        session.run(WIPE_GRAPH).consume()
    assert json.loads(cdp("import", str(tmp_path / "events.jsonl"), "--json").stdout)["accepted"] == 2
    assert partition(driver) == in_event_order


def test_a_message_at_the_size_limit_survives_export_and_import(client, cdp_env, driver, tmp_path):
    limit = get_settings().max_message_bytes
    message = {"type": "track", "messageId": "big-1", "anonymousId": "big-anon", "event": "Big",
               "properties": {"x": ""}}
    message["properties"]["x"] = "a" * (limit - len(orjson.dumps(message)))
    assert len(orjson.dumps(message)) == limit
    send(client, [message], context={"library": {"name": "padding", "note": "b" * 2000}})  # merged into it
    assert cdp("export", "events", "-o", str(tmp_path / "events.jsonl")).exit_code == 0
    assert len((tmp_path / "events.jsonl").read_bytes().strip()) > limit  # the store's fields added

    with driver.session() as session:
        session.run(WIPE_GRAPH).consume()
    summary = json.loads(cdp("import", str(tmp_path / "events.jsonl"), "--json").stdout)
    assert (summary["accepted"], summary["rejected"]) == (1, 0), summary
    # A line that is a plain message, not a stored event, is held to the message limit, as the API holds it.
    plain = {"type": "track", "messageId": "big-plain", "anonymousId": "big-anon", "event": "Big",
             "properties": {"x": "a" * (limit + 100)}}
    (tmp_path / "plain.jsonl").write_bytes(orjson.dumps(plain) + b"\n")
    summary = json.loads(cdp("import", str(tmp_path / "plain.jsonl"), "--json").stdout)
    assert summary["rejected"] == 1 and "limit" in summary["reasons"][0]["reason"]
    # A line past what any accepted message can become (the batch limit) is still refused.
    message["properties"]["x"] = "a" * get_settings().max_batch_bytes
    over = {**message, "messageId": "big-2", "identifier": "anonymous_id:big-anon"}  # an export line's field
    (tmp_path / "over.jsonl").write_bytes(orjson.dumps(over) + b"\n")
    summary = json.loads(cdp("import", str(tmp_path / "over.jsonl"), "--json").stdout)
    assert summary["rejected"] == 1 and "limit" in summary["reasons"][0]["reason"]


def test_import_refuses_a_bad_stored_arrival(cdp_env, clean_db, tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(orjson.dumps(m).decode() for m in [
        {"type": "track", "messageId": "r-1", "userId": "u1", "event": "E", "receivedAt": "noon"},
        {"type": "track", "messageId": "r-2", "userId": "u1", "event": "E", "source": 7},
        {"type": "track", "messageId": "r-3", "userId": "u1", "event": "E", "timestamp": day(1),
         "receivedAt": "2999-01-01T00:00:00Z", "source": "mobile"},
    ]) + "\n")
    summary = json.loads(cdp("import", str(path), "--json").stdout)
    assert summary["accepted"] == 1
    assert {r["reason"]: r["lines"] for r in summary["reasons"]} == {
        "receivedAt: must be an ISO-8601 date-time": [1], "source: must be a non-empty string": [2]}
    records, _, _ = clean_db.execute_query("MATCH (e:Event {messageId: 'r-3'}) RETURN e.source AS s, e.receivedAt AS r")
    assert records[0]["s"] == "mobile" and records[0]["r"] < "2999"  # a receivedAt ahead of now is now
