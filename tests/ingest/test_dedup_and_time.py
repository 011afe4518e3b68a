"""Retries are stored once (by messageId, generated when absent), across restarts; timestamps are
corrected for client clock skew as Segment does: timestamp = receivedAt - (sentAt - originalTimestamp)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.helpers import basic, new_id
from tests.ingest.support import events_of, message, parse_time, read_event, stored

MS = timedelta(milliseconds=1)


def _batch(*items: dict, **fields) -> dict:
    return {"batch": [{**m, "type": m.get("type", "track")} for m in items], **fields}


# --- dedup by messageId ---------------------------------------------------------------------------

def test_a_message_sent_three_times_to_one_endpoint_is_stored_once(client, driver):
    msg = message("track")
    for _ in range(3):
        assert client.post("/v1/track", json=msg, headers=basic()).json() == {"success": True}
    assert stored(driver, msg["messageId"]) == 1
    assert len(events_of(driver, msg["userId"])) == 1


def test_a_message_sent_singly_then_in_batches_is_stored_once(client, driver):
    msg = message("identify", anonymousId=new_id("anon"))
    other = message("track", userId=msg["userId"])
    assert client.post("/v1/identify", json=msg, headers=basic()).status_code == 200
    as_item = {**msg, "type": "identify"}
    assert client.post("/v1/batch", json=_batch(as_item, other), headers=basic()).status_code == 200
    assert client.post("/v1/import", json=_batch(as_item), headers=basic()).status_code == 200
    assert client.post("/api/track", json={**msg, "type": "identify"}, headers=basic()).status_code == 200
    assert stored(driver, msg["messageId"]) == 1
    assert stored(driver, other["messageId"]) == 1
    assert len(events_of(driver, msg["userId"])) == 2


def test_twice_inside_one_batch_is_stored_once(client, driver):
    msg, other = message("track"), message("track")
    r = client.post("/v1/batch", json=_batch(msg, other, msg), headers=basic())
    assert r.status_code == 200
    assert stored(driver, msg["messageId"]) == 1
    assert stored(driver, other["messageId"]) == 1


def test_the_first_stored_version_wins(client):
    msg = message("track", event="First")
    assert client.post("/v1/track", json=msg, headers=basic()).status_code == 200
    retry = {**msg, "event": "Changed", "properties": {"changed": True}}
    assert client.post("/v1/track", json=retry, headers=basic()).status_code == 200
    event = read_event(client, msg["messageId"])
    assert (event["event"], event["properties"]) == ("First", msg["properties"])


def test_dedup_survives_a_restart(clean_db, settings):
    msg = message("track")
    with TestClient(create_app(settings)) as first:
        assert first.post("/v1/track", json=msg, headers=basic()).status_code == 200
    with TestClient(create_app(settings)) as restarted:  # no state carried over but the graph
        assert restarted.post("/v1/track", json=msg, headers=basic()).status_code == 200
        assert restarted.post("/v1/batch", json=_batch(msg), headers=basic()).status_code == 200
    assert stored(clean_db, msg["messageId"]) == 1


# --- generated messageIds -------------------------------------------------------------------------

def _without_id(type_: str = "track", **fields) -> dict:
    msg = message(type_, timestamp="2024-05-01T10:00:00.000Z", **fields)
    msg.pop("messageId")
    return msg


def test_a_message_without_id_gets_a_generated_one(client, driver):
    msg = _without_id()
    assert client.post("/v1/track", json=msg, headers=basic()).status_code == 200
    [event] = events_of(driver, msg["userId"])
    assert event["messageId"].startswith("gen-")
    assert read_event(client, event["messageId"])["event"] == "Order Completed"


def test_the_exact_retry_of_a_message_without_id_is_stored_once(client, driver):
    msg = _without_id()
    for n in range(3):  # a retry carries a new sentAt; it is the same message
        sent = {**msg, "sentAt": f"2024-05-01T10:00:0{n + 1}.000Z"}
        assert client.post("/v1/track", json=sent, headers=basic()).status_code == 200
    r = client.post("/v1/batch", json=_batch(msg, sentAt="2024-05-01T10:00:09Z"), headers=basic())
    assert r.status_code == 200
    assert client.post("/api/track", json={**msg, "type": "track"}, headers=basic()).status_code == 200
    assert len(events_of(driver, msg["userId"])) == 1


def test_generated_ids_survive_a_restart(clean_db, settings):
    msg = _without_id()
    for _ in range(2):
        with TestClient(create_app(settings)) as app_client:
            assert app_client.post("/v1/track", json=msg, headers=basic()).status_code == 200
    assert len(events_of(clean_db, msg["userId"])) == 1


@pytest.mark.parametrize("change", [
    {"event": "Other Event"},
    {"properties": {"total": 1}},
    {"timestamp": "2024-05-01T10:00:00.001Z"},
    {"context": {"ip": "10.1.1.1"}},
])
def test_a_different_message_without_id_is_a_different_event(client, driver, change):
    msg = _without_id()
    assert client.post("/v1/track", json=msg, headers=basic()).status_code == 200
    assert client.post("/v1/track", json={**msg, **change}, headers=basic()).status_code == 200
    events = events_of(driver, msg["userId"])
    assert len(events) == 2
    assert len({e["messageId"] for e in events}) == 2


def test_identical_messages_without_id_or_timestamp_are_each_an_event(client, driver):
    # Nothing says when such a message happened but its arrival: two identical clicks sent a moment
    # apart are two clicks (Segment gives each a fresh id), in a batch as well as one by one.
    click = {"userId": new_id("clicker"), "event": "Clicked"}
    for _ in range(3):
        assert client.post("/v1/track", json=click, headers=basic()).status_code == 200
    assert client.post("/v1/batch", json={"batch": [{**click, "type": "track"}] * 2},
                       headers=basic()).status_code == 200
    events = events_of(driver, click["userId"])
    assert len(events) == 5 and len({e["messageId"] for e in events}) == 5
    assert all(e["messageId"].startswith("gen-") for e in events)


def test_the_same_content_from_another_source_is_another_event(client, driver):
    msg = _without_id()
    assert client.post("/v1/track", json=msg, headers=basic("dev-web-key")).status_code == 200
    assert client.post("/v1/track", json=msg, headers=basic("dev-server-key")).status_code == 200
    assert sorted(e["source"] for e in events_of(driver, msg["userId"])) == ["server", "web"]


# --- clock-skew correction ------------------------------------------------------------------------

def _send(client, path: str, body: dict) -> tuple[datetime, datetime]:
    """POST and return the wall-clock window the request was received in."""
    before = datetime.now(timezone.utc)
    r = client.post(path, json=body, headers=basic())
    after = datetime.now(timezone.utc)
    assert r.status_code == 200, r.text
    return before, after


def _times(client, driver, message_id: str, user_id: str) -> dict:
    """The stored times, parsed; and the Event node's ts (epoch ms) checked against timestamp."""
    event = read_event(client, message_id)
    out = {k: parse_time(event[k]) if event.get(k) else None
           for k in ("timestamp", "originalTimestamp", "sentAt", "receivedAt")}
    [node] = [e for e in events_of(driver, user_id) if e["messageId"] == message_id]
    assert node["ts"] == int(out["timestamp"].timestamp() * 1000)
    return out


def _assert_received_within(received: datetime, window: tuple[datetime, datetime]) -> None:
    assert window[0] - MS <= received <= window[1] + MS


@pytest.mark.parametrize("path", ["/v1/track", "/v1/batch"])
def test_skew_is_corrected_from_timestamp_and_sent_at(client, driver, path):
    # The device clock is three days behind; it sent the event 5.25 s after it happened.
    msg = message("track", timestamp="2024-02-01T08:00:00.000Z", sentAt="2024-02-01T08:00:05.250Z")
    window = _send(client, path, _batch(msg) if path == "/v1/batch" else msg)

    t = _times(client, driver, msg["messageId"], msg["userId"])
    _assert_received_within(t["receivedAt"], window)
    assert abs(t["timestamp"] - (t["receivedAt"] - timedelta(seconds=5.25))) <= MS
    assert t["originalTimestamp"] == parse_time("2024-02-01T08:00:00.000Z")
    assert t["sentAt"] == parse_time("2024-02-01T08:00:05.250Z")


def test_original_timestamp_is_the_device_time_when_given(client, driver):
    msg = message("track", originalTimestamp="2024-02-01T08:00:00.000Z", timestamp="2030-01-01T00:00:00Z",
                  sentAt="2024-02-01T08:00:03.000Z")
    window = _send(client, "/v1/track", msg)
    t = _times(client, driver, msg["messageId"], msg["userId"])
    _assert_received_within(t["receivedAt"], window)
    assert abs(t["timestamp"] - (t["receivedAt"] - timedelta(seconds=3))) <= MS
    assert t["originalTimestamp"] == parse_time("2024-02-01T08:00:00.000Z")


def test_skew_correction_across_time_zones(client, driver):
    # 12:00:00.123 at +02:00 is 10:00:00.123Z; sent 6.877 s later, written in UTC.
    msg = message("identify", timestamp="2024-03-01T12:00:00.123+02:00", sentAt="2024-03-01T10:00:07Z")
    _send(client, "/v1/identify", msg)
    t = _times(client, driver, msg["messageId"], msg["userId"])
    assert abs(t["timestamp"] - (t["receivedAt"] - timedelta(seconds=6.877))) <= MS


def test_a_device_clock_ahead_is_corrected_too(client, driver):
    msg = message("track", timestamp="2031-06-01T00:00:10Z", sentAt="2031-06-01T00:00:12Z")
    _send(client, "/v1/track", msg)
    t = _times(client, driver, msg["messageId"], msg["userId"])
    assert abs(t["timestamp"] - (t["receivedAt"] - timedelta(seconds=2))) <= MS
    assert t["timestamp"] < datetime.now(timezone.utc)


def test_batch_sent_at_applies_to_items_and_an_items_own_sent_at_wins(client, driver):
    user = new_id("user")
    plain = message("track", userId=user, timestamp="2024-04-01T00:00:00Z")
    own = message("page", userId=user, timestamp="2024-04-01T00:00:00Z", sentAt="2024-04-01T00:00:02Z")
    no_time = message("track", userId=user)
    body = {"batch": [{**plain, "type": "track"}, {**own, "type": "page"}, {**no_time, "type": "track"}],
            "sentAt": "2024-04-01T00:00:10Z"}
    window = _send(client, "/v1/batch", body)

    t_plain = _times(client, driver, plain["messageId"], user)
    _assert_received_within(t_plain["receivedAt"], window)
    assert abs(t_plain["timestamp"] - (t_plain["receivedAt"] - timedelta(seconds=10))) <= MS
    assert t_plain["sentAt"] == parse_time("2024-04-01T00:00:10Z")
    t_own = _times(client, driver, own["messageId"], user)
    assert abs(t_own["timestamp"] - (t_own["receivedAt"] - timedelta(seconds=2))) <= MS
    assert t_own["sentAt"] == parse_time("2024-04-01T00:00:02Z")
    t_none = _times(client, driver, no_time["messageId"], user)
    assert t_none["timestamp"] == t_none["receivedAt"]
    assert t_none["originalTimestamp"] is None


@pytest.mark.parametrize("path", ["/v1/track", "/v1/batch"])
def test_without_sent_at_the_timestamp_is_kept_as_sent(client, driver, path):
    msg = message("track", timestamp="2024-03-01T12:00:00.456+02:00")
    window = _send(client, path, _batch(msg) if path == "/v1/batch" else msg)
    t = _times(client, driver, msg["messageId"], msg["userId"])
    assert t["timestamp"] == parse_time("2024-03-01T10:00:00.456Z")
    assert read_event(client, msg["messageId"])["timestamp"] == "2024-03-01T10:00:00.456Z"  # in UTC
    assert t["originalTimestamp"] == t["timestamp"]
    assert t["sentAt"] is None
    _assert_received_within(t["receivedAt"], window)


@pytest.mark.parametrize("fields", [{"timestamp": "2099-01-01T00:00:00Z"},
                                    {"timestamp": "2024-03-01T10:00:05Z", "sentAt": "2024-03-01T10:00:00Z"}],
                         ids=["a-future-timestamp", "dated-after-its-sentAt"])
def test_an_event_never_happened_after_it_was_received(client, driver, fields):
    msg = message("track", **fields)
    window = _send(client, "/v1/track", msg)
    t = _times(client, driver, msg["messageId"], msg["userId"])
    _assert_received_within(t["receivedAt"], window)
    assert t["timestamp"] == t["receivedAt"]
    assert t["originalTimestamp"] == parse_time(fields["timestamp"])  # what the client said, kept
    [seen] = driver.execute_query("MATCH (i:Identifier {key: $k}) RETURN i.lastSeen AS s",
                                  k=f"user_id:{msg['userId']}").records
    assert seen["s"] <= int(window[1].timestamp() * 1000)


@pytest.mark.parametrize("sent_at", [None, "2024-03-01T10:00:00Z"])
def test_without_a_timestamp_the_event_happened_when_received(client, driver, sent_at):
    msg = message("track", **({"sentAt": sent_at} if sent_at else {}))
    window = _send(client, "/v1/track", msg)
    t = _times(client, driver, msg["messageId"], msg["userId"])
    _assert_received_within(t["receivedAt"], window)
    assert t["timestamp"] == t["receivedAt"]
    assert t["originalTimestamp"] is None
    assert t["sentAt"] == (parse_time(sent_at) if sent_at else None)


def test_a_timestamp_without_zone_is_read_as_utc(client, driver):
    msg = message("track", timestamp="2024-03-01T10:00:00")
    _send(client, "/v1/track", msg)
    assert read_event(client, msg["messageId"])["timestamp"] == "2024-03-01T10:00:00.000Z"


@pytest.mark.parametrize("fields,field", [
    ({"timestamp": "9999-12-31T23:59:59Z", "sentAt": "0001-01-01T00:00:00Z"}, "timestamp"),
    ({"originalTimestamp": "0001-01-01T00:00:00Z", "sentAt": "9999-12-31T00:00:00Z"}, "originalTimestamp"),
    ({"timestamp": "0001-01-01T00:00:00+01:00"}, "timestamp"),  # before year 1 in UTC
    ({"sentAt": "9999-12-31T23:30:00-01:00"}, "sentAt"),  # after year 9999 in UTC
])
def test_times_that_cannot_be_represented_are_400(client, driver, fields, field):
    msg = message("track", **fields)
    r = client.post("/v1/track", json=msg, headers=basic())
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field
    r = client.post("/v1/batch", json=_batch(msg), headers=basic())
    assert r.status_code == 400, r.text
    assert r.json()["field"] == f"batch[0].{field}"
    assert stored(driver, msg["messageId"]) == 0


def test_a_batch_sent_at_out_of_range_is_400(client):
    body = _batch(message("track"), sentAt="0001-01-01T00:00:00+01:00")
    r = client.post("/v1/batch", json=body, headers=basic())
    assert r.status_code == 400, r.text
    assert r.json()["field"] == "sentAt"
