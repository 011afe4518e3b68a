"""Bad input gets a clear 4xx whose JSON names the field path and the reason, and stores nothing of
itself; a batch stores its valid messages and names the invalid ones."""
from __future__ import annotations

import gzip

import orjson
import pytest

from tests.helpers import basic, count, new_id, partition
from tests.ingest.support import (ALL_ENDPOINTS, BATCH_ENDPOINTS, SINGLE_ENDPOINTS, assert_rejected, body_for,
                                  message, read_event, stored)

SINGLES = [*SINGLE_ENDPOINTS, "/api/track"]


def _type_for(path: str) -> str:
    return SINGLE_ENDPOINTS.get(path, "track")


def _post_one(client, path: str, msg: dict, index: int = 0):
    """Send msg to path; on a batch endpoint as item `index`, after valid items.
    -> (response, the field prefix errors about msg carry)."""
    type_ = msg.get("type") or _type_for(path)
    if path in BATCH_ENDPOINTS:
        items = [{**message("track"), "type": "track"} for _ in range(index)] + [{**msg, "type": type_}]
        return client.post(path, json={"batch": items}, headers=basic()), f"batch[{index}]."
    return client.post(path, json=body_for(path, msg, type_), headers=basic()), ""


# --- the body as a whole --------------------------------------------------------------------------

@pytest.mark.parametrize("path", ALL_ENDPOINTS)
@pytest.mark.parametrize("content", [b"{not json", b"", b'{"userId": "u-1",}', b"\xff\xfe{}",
                                     b'{"a": 1} trailing'])
def test_invalid_json_is_400_body(client, path, content):
    r = client.post(path, content=content, headers={**basic(), "Content-Type": "application/json"})
    body = assert_rejected(r, 400, "body")
    assert "invalid JSON" in body["error"]


@pytest.mark.parametrize("path", SINGLES)
@pytest.mark.parametrize("value", [[], ["a"], "text", 42, None])
def test_a_single_message_must_be_an_object(client, path, value):
    assert_rejected(client.post(path, json=value, headers=basic()), 400, "body")


@pytest.mark.parametrize("path", BATCH_ENDPOINTS)
def test_a_batch_body_must_be_an_object(client, path):
    assert_rejected(client.post(path, json=[message("track")], headers=basic()), 400, "body")


@pytest.mark.parametrize("path", BATCH_ENDPOINTS)
@pytest.mark.parametrize("batch", [None, "track", {"0": {}}, 7],
                         ids=["missing", "string", "object", "number"])
def test_batch_must_be_an_array(client, path, batch):
    body = {"writeKey": "dev-web-key"} if batch is None else {"batch": batch}
    assert_rejected(client.post(path, json=body, headers=basic()), 400, "batch")


@pytest.mark.parametrize("path", BATCH_ENDPOINTS)
def test_an_empty_batch_is_400(client, path):
    assert_rejected(client.post(path, json={"batch": []}, headers=basic()), 400, "batch")


@pytest.mark.parametrize("field,value", [("context", "ip=1.2.3.4"), ("integrations", ["All"]),
                                         ("sentAt", "yesterday"), ("sentAt", {"at": 1})])
def test_batch_level_fields_are_checked(client, driver, field, value):
    msg = message("track")
    r = client.post("/v1/batch", json={"batch": [{**msg, "type": "track"}], field: value}, headers=basic())
    assert_rejected(r, 400, field)
    assert stored(driver, msg["messageId"]) == 0


# --- one message ---------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [p for p in ALL_ENDPOINTS if p != "/v1/alias"])  # alias: see below
@pytest.mark.parametrize("ids", [{}, {"userId": None, "anonymousId": None},
                                 {"userId": "", "anonymousId": "  "}], ids=["absent", "null", "blank"])
def test_a_message_needs_a_user_or_anonymous_id(client, driver, path, ids):
    msg = {k: v for k, v in message(_type_for(path)).items() if k != "userId"} | ids
    r, prefix = _post_one(client, path, msg, index=1)
    body = assert_rejected(r, 400, f"{prefix}userId")
    assert body["error"] == "userId or anonymousId is required"
    assert stored(driver, msg["messageId"]) == 0


@pytest.mark.parametrize("path", ["/v1/track", "/api/track", *BATCH_ENDPOINTS])
@pytest.mark.parametrize("event", [None, "", 17, {"name": "x"}], ids=["absent", "empty", "number", "object"])
def test_track_needs_an_event_name(client, path, event):
    msg = message("track")
    msg.pop("event")
    if event is not None:
        msg["event"] = event
    r, prefix = _post_one(client, path, msg, index=2)
    assert_rejected(r, 400, f"{prefix}event")


WRONG_TYPES = [
    ("properties", ["a", "b"]),
    ("properties", "a=b"),
    ("userId", {"id": 1}),
    ("userId", ["u-1"]),
    ("userId", True),
    ("anonymousId", 1.5),
    ("timestamp", "not a date"),
    ("timestamp", {"at": "2024-01-01"}),
    ("originalTimestamp", "2024-13-45T99:00:00Z"),
    ("sentAt", "soon"),
    ("context", "ctx"),
    ("integrations", [1]),
    ("messageId", 123),
    ("messageId", ""),
]


@pytest.mark.parametrize("path", ["/v1/track", "/api/track", *BATCH_ENDPOINTS])
@pytest.mark.parametrize("field,value", WRONG_TYPES)
def test_a_wrong_type_names_its_path(client, driver, path, field, value):
    msg = message("track", anonymousId=new_id("anon"))  # a valid id remains when userId is the bad one
    msg[field] = value
    r, prefix = _post_one(client, path, msg, index=1)
    body = assert_rejected(r, 400, f"{prefix}{field}")
    assert len(body["errors"]) == 1, body["errors"]  # one error per field, not one per accepted type
    if field != "messageId":
        assert stored(driver, msg["messageId"]) == 0


@pytest.mark.parametrize("path,field,value", [
    ("/v1/identify", "traits", ["plan", "pro"]),
    ("/v1/group", "traits", "employees=12"),
    ("/v1/group", "groupId", {"id": 1}),
    ("/v1/page", "name", 12),
    ("/v1/screen", "category", ["a"]),
    ("/v1/page", "properties", [1]),
    ("/v1/alias", "previousId", ["a"]),
])
def test_type_specific_fields_are_checked(client, path, field, value):
    msg = message(_type_for(path))
    msg[field] = value
    assert_rejected(client.post(path, json=msg, headers=basic()), 400, field)


@pytest.mark.parametrize("path,field", [("/v1/group", "groupId"), ("/v1/alias", "previousId"),
                                        ("/v1/alias", "userId")])
def test_required_fields_of_group_and_alias(client, path, field):
    msg = message(_type_for(path), anonymousId=new_id("anon"))
    msg.pop(field)
    assert_rejected(client.post(path, json=msg, headers=basic()), 400, field)
    r, _ = _post_one(client, "/v1/batch", {**msg, "type": _type_for(path)}, index=3)
    assert_rejected(r, 400, f"batch[3].{field}")


def test_blank_alias_previous_id_is_400(client):
    r = client.post("/v1/alias", json=message("alias", previousId="  "), headers=basic())
    body = assert_rejected(r, 400, "previousId")
    assert body["error"] == "previousId must not be empty"


def test_every_bad_item_of_a_batch_is_reported(client):
    items = [{**message("track"), "type": "track"} for _ in range(5)]
    items[1].pop("event")
    items[3]["properties"] = [1]
    items[4]["type"] = "purchase"
    r = client.post("/v1/batch", json={"batch": items}, headers=basic())
    body = assert_rejected(r, 400, "batch[1].event")
    assert [e["field"] for e in body["errors"]] == ["batch[1].event", "batch[3].properties", "batch[4].type"]
    assert (body["accepted"], body["refused"]) == (2, 3)
    assert body["message"].startswith("3 messages refused, 2 accepted; first: batch[1].event: ")


def test_a_batch_names_at_most_50_bad_items_and_counts_them_all(client, driver):
    good = [{**message("track"), "type": "track"} for _ in range(3)]
    bad = [{"type": "track", "messageId": new_id("msg"), "userId": new_id("user")} for _ in range(60)]
    r = client.post("/v1/batch", json={"batch": [*bad, *good]}, headers=basic())
    body = assert_rejected(r, 400, "batch[0].event")
    assert len(body["errors"]) == 50 and (body["accepted"], body["refused"]) == (3, 60)
    assert stored(driver, *(m["messageId"] for m in good)) == 3
    assert stored(driver, *(m["messageId"] for m in bad)) == 0


@pytest.mark.parametrize("type_", ["purchase", "", "TRACK", None, ["track"], {"t": 1}, 3])
def test_an_unknown_type_in_a_batch_is_400(client, type_):
    item = {**message("track"), "type": type_}
    r = client.post("/v1/batch", json={"batch": [item]}, headers=basic())
    body = assert_rejected(r, 400, "batch[0].type")
    assert "track" in body["error"]  # says which types exist


def test_api_track_needs_a_known_type(client):
    assert_rejected(client.post("/api/track", json=message("track"), headers=basic()), 400, "type")
    msg = {**message("track"), "type": "purchase"}
    assert_rejected(client.post("/api/track", json=msg, headers=basic()), 400, "type")


@pytest.mark.parametrize("item", [[], "track", 5, None])
def test_a_batch_item_must_be_an_object(client, item):
    items = [{**message("track"), "type": "track"}, item]
    assert_rejected(client.post("/v1/batch", json={"batch": items}, headers=basic()), 400, "batch[1]")


# --- blocked identifier values ------------------------------------------------------------------

BLOCKED = ["null", "undefined", "0", 0, "00000000-0000-0000-0000-000000000000", "NULL", " undefined "]


@pytest.mark.parametrize("value", BLOCKED)
@pytest.mark.parametrize("field", ["userId", "anonymousId"])
@pytest.mark.parametrize("path", ["/v1/track", "/v1/identify", "/api/track", *BATCH_ENDPOINTS])
def test_a_blocked_value_as_the_only_id_is_400(client, driver, path, field, value):
    msg = {k: v for k, v in message(_type_for(path)).items() if k != "userId"}
    msg[field] = value
    r, prefix = _post_one(client, path, msg, index=1)
    body = assert_rejected(r, 400, f"{prefix}{field}")
    assert "blocked" in body["error"]
    assert stored(driver, msg["messageId"]) == 0


def test_both_ids_blocked_names_both(client):
    msg = message("track", userId="undefined", anonymousId="null")
    body = assert_rejected(client.post("/v1/track", json=msg, headers=basic()), 400, "userId")
    assert [e["field"] for e in body["errors"]] == ["userId", "anonymousId"]


def test_a_blocked_alias_previous_id_is_400(client, driver):
    msg = message("alias", previousId="undefined")
    assert_rejected(client.post("/v1/alias", json=msg, headers=basic()), 400, "previousId")
    r, _ = _post_one(client, "/v1/batch", {**msg, "type": "alias"}, index=1)
    assert_rejected(r, 400, "batch[1].previousId")
    assert stored(driver, msg["messageId"]) == 0


def test_a_blocked_user_id_beside_a_good_anonymous_id_is_accepted(client, driver):
    anon = new_id("anon")
    msg = message("track", userId="null", anonymousId=anon)
    assert client.post("/v1/track", json=msg, headers=basic()).status_code == 200
    assert read_event(client, msg["messageId"])["identifier"] == f"anonymous_id:{anon}"
    assert frozenset({f"anonymous_id:{anon}"}) in partition(driver)  # no user_id:null identifier


# --- size limits ----------------------------------------------------------------------------------

def _padded(type_: str, size: int) -> dict:
    """A valid message of about `size` bytes of JSON."""
    msg = message(type_)
    msg["context"] = {"pad": "x" * max(0, size - len(orjson.dumps(msg)) - 20)}
    return msg


@pytest.mark.parametrize("path", SINGLES)
def test_a_message_over_32kb_is_413(client, driver, path):
    msg = _padded(_type_for(path), 33 * 1024)
    r = client.post(path, json=body_for(path, msg, _type_for(path)), headers=basic())
    body = assert_rejected(r, 413, "body")
    assert "32768" in body["error"]
    assert stored(driver, msg["messageId"]) == 0


@pytest.mark.parametrize("path,limit", [("/v1/track", 32 * 1024), ("/v1/batch", 500 * 1024)])
def test_a_streamed_body_far_over_the_limit_is_413(client, path, limit):
    def chunks():  # chunked upload: no Content-Length to judge by
        for _ in range(64):
            yield b" " * (64 * 1024)

    body = assert_rejected(client.post(path, content=chunks(), headers=basic()), 413, "body")
    assert str(limit) in body["error"]


def test_a_gzipped_message_over_32kb_inflated_is_413(client):
    msg = _padded("track", 40 * 1024)
    r = client.post("/v1/track", content=gzip.compress(orjson.dumps(msg)),
                    headers={**basic(), "Content-Encoding": "gzip"})
    assert_rejected(r, 413, "body")


def test_a_message_just_under_32kb_is_accepted(client):
    msg = _padded("track", 31 * 1024)
    assert client.post("/v1/track", json=msg, headers=basic()).status_code == 200


@pytest.mark.parametrize("path", BATCH_ENDPOINTS)
def test_a_batch_item_over_32kb_is_400_naming_it(client, driver, path):
    items = [{**message("track"), "type": "track"}, {**_padded("track", 33 * 1024), "type": "track"}]
    r = client.post(path, json={"batch": items}, headers=basic())
    body = assert_rejected(r, 400, "batch[1]")
    assert "32768" in body["error"]
    assert stored(driver, items[1]["messageId"]) == 0 and stored(driver, items[0]["messageId"]) == 1


@pytest.mark.parametrize("gzipped", [False, True])
@pytest.mark.parametrize("path", BATCH_ENDPOINTS)
def test_a_batch_over_500kb_is_413(client, driver, path, gzipped):
    items = [{**_padded("track", 30 * 1024), "type": "track"} for _ in range(18)]  # ~540 KB, each item legal
    raw = orjson.dumps({"batch": items})
    assert 500 * 1024 < len(raw) < 600 * 1024
    headers = {**basic(), "Content-Encoding": "gzip"} if gzipped else basic()
    r = client.post(path, content=gzip.compress(raw) if gzipped else raw, headers=headers)
    assert_rejected(r, 413, "body")
    assert stored(driver, *(i["messageId"] for i in items)) == 0


def test_a_batch_just_under_500kb_is_accepted(client, driver):
    items = [{**_padded("track", 30 * 1024), "type": "track"} for _ in range(16)]  # ~480 KB
    assert client.post("/v1/batch", json={"batch": items}, headers=basic()).status_code == 200
    assert stored(driver, *(i["messageId"] for i in items)) == 16


@pytest.mark.parametrize("path", BATCH_ENDPOINTS)
def test_more_than_2500_messages_is_400(client, driver, path):
    user = new_id("user")
    items = [{"type": "track", "event": "e", "userId": user, "messageId": f"{user}-{n}"} for n in range(2501)]
    body = assert_rejected(client.post(path, json={"batch": items}, headers=basic()), 400, "batch")
    assert "2500" in body["error"]
    assert stored(driver, *(i["messageId"] for i in items)) == 0


def test_2500_messages_are_accepted(client, driver):
    user = new_id("user")
    items = [{"type": "track", "event": "e", "userId": user, "messageId": f"{user}-{n}"} for n in range(2500)]
    assert client.post("/v1/batch", json={"batch": items}, headers=basic()).status_code == 200
    assert stored(driver, *(i["messageId"] for i in items)) == 2500


# --- a batch with invalid messages stores the valid ones ----------------------------------------

def test_a_batch_stores_its_valid_messages_and_names_the_invalid_one(client, driver):
    # The SDKs drop a batch answered 400: refused whole, the good messages beside a bad one were lost.
    anon, user = new_id("anon"), new_id("user")
    good = [{**message("track", userId=user), "type": "track"},
            {**message("identify", userId=user, anonymousId=anon), "type": "identify"}]
    bad = {**message("track", userId="undefined"), "type": "track"}
    r = client.post("/v1/batch", json={"batch": [good[0], bad, good[1]]}, headers=basic())

    body = assert_rejected(r, 400, "batch[1].userId")
    assert (body["accepted"], body["refused"]) == (2, 1)
    assert stored(driver, *(m["messageId"] for m in good)) == 2 and stored(driver, bad["messageId"]) == 0
    assert read_event(client, good[0]["messageId"])["profileId"] == read_event(client, good[1]["messageId"])["profileId"]
    # Sent again (a client that retries a 400), the stored messages are found already stored.
    again = client.post("/v1/batch", json={"batch": [good[0], bad, good[1]]}, headers=basic())
    assert assert_rejected(again, 400, "batch[1].userId")["accepted"] == 2
    assert count(driver, "MATCH (e:Event {userId: $u}) RETURN count(e)", u=user) == 2


def test_a_batch_of_only_invalid_messages_stores_nothing_and_leaves_earlier_data_alone(client, driver):
    anon, user = new_id("anon"), new_id("user")
    before = message("identify", userId=user, anonymousId=anon, traits={"email": f"{user}@mail.io"})
    assert client.post("/v1/identify", json=before, headers=basic()).status_code == 200
    events_before = count(driver, "MATCH (e:Event) RETURN count(e)")
    profiles_before = partition(driver)
    stored_before = read_event(client, before["messageId"])

    bad = [{**message("track", userId="undefined"), "type": "track"},
           {**message("identify", anonymousId=anon), "type": "identify", "traits": [1]},
           {**message("alias", userId=new_id("user")), "type": "alias", "previousId": ""}]
    r = client.post("/v1/batch", json={"batch": bad}, headers=basic())

    body = assert_rejected(r, 400, "batch[0].userId")
    assert (body["accepted"], body["refused"]) == (0, 3)
    assert stored(driver, *(m["messageId"] for m in bad)) == 0
    assert count(driver, "MATCH (e:Event) RETURN count(e)") == events_before
    assert partition(driver) == profiles_before
    assert read_event(client, before["messageId"]) == stored_before


def test_a_rejected_request_leaves_no_identifier_behind(client, driver):
    user = new_id("user")
    bad = {"type": "track", "userId": user, "context": {"traits": {"email": f"{user}@mail.io"}}}
    assert_rejected(client.post("/v1/track", json=bad, headers=basic()), 400, "event")
    assert_rejected(client.post("/v1/batch", json={"batch": [bad]}, headers=basic()), 400, "batch[0].event")
    assert count(driver, "MATCH (i:Identifier) WHERE i.key IN $keys RETURN count(i)",
                 keys=[f"user_id:{user}", f"email:{user}@mail.io"]) == 0


def _refused_total(client) -> float:
    line = next(ln for ln in client.get("/metrics").text.splitlines()
                if ln.startswith("cdp_ingest_messages_refused_total "))
    return float(line.split()[1])


def test_refused_messages_are_counted_once_each(client):
    before = _refused_total(client)
    bad = {"type": "track", "userId": new_id("user"), "properties": [1], "timestamp": "yesterday"}  # two bad fields
    assert_rejected(client.post("/v1/track", json=bad, headers=basic()), 400, "timestamp")
    items = [{**message("track"), "type": "track"}, bad, {**bad, "event": "E"}]
    assert_rejected(client.post("/v1/batch", json={"batch": items}, headers=basic()), 400, "batch[1].timestamp")
    assert _refused_total(client) - before == 3  # one single call, two of the batch's messages
