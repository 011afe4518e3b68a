"""Hostile bodies on the ingest API: always a clear answer (4xx with `error` and `field`, or 200 when
the body is valid), never a 5xx, never a hang, and nothing written by a rejected request."""
from __future__ import annotations

import gzip
import time

import orjson
import pytest

from tests.helpers import ADMIN, basic, count

WRITE = {**basic(), "Content-Type": "application/json"}
FAST_S = 5.0


def _nodes(driver) -> int:
    return count(driver, "MATCH (n) RETURN count(n)")


def _post(client, path: str, body: bytes, headers: dict | None = None):
    started = time.perf_counter()
    r = client.post(path, content=body, headers={**WRITE, **(headers or {})})
    took = time.perf_counter() - started
    assert took < FAST_S, f"{path} took {took:.1f}s"
    assert r.status_code < 500, r.text[:500]
    return r


def _rejected(client, driver, path: str, body: bytes, headers: dict | None = None, status: int | None = None):
    before = _nodes(driver)
    r = _post(client, path, body, headers)
    assert 400 <= r.status_code < 500, r.text[:300]
    if status:
        assert r.status_code == status, r.text[:300]
    doc = r.json()
    assert doc["success"] is False and doc["error"] and doc["field"], doc
    assert _nodes(driver) == before  # nothing written
    return doc


def _track(**extra) -> dict:
    return {"userId": "hostile-user", "event": "Hit", **extra}


def _nested(kind: str, depth: int) -> bytes:
    inner = b"[" * depth + b"]" * depth if kind == "list" else b'{"a":' * depth + b"1" + b"}" * depth
    return b'{"userId":"u","event":"E","properties":{"deep":' + inner + b"}}"


@pytest.mark.parametrize("kind", ["list", "object"])
def test_deeply_nested_json_is_a_400(client, driver, kind):
    _rejected(client, driver, "/v1/track", _nested(kind, 10_000))  # 400, or 413 when over 32 KB
    batch = b'{"batch":[{"type":"track",' + _nested(kind, 10_000)[1:] + b"]}"
    _rejected(client, driver, "/v1/batch", batch, status=400)


def test_oversize_bodies_are_413(client, driver, settings):
    big = orjson.dumps(_track(properties={"pad": "x" * (settings.max_message_bytes + 10)}))
    assert _rejected(client, driver, "/v1/track", big, status=413)["field"] == "body"
    huge = b'{"batch":[' + b",".join([orjson.dumps({"type": "track", **_track()})] * 1) + b'],"pad":"' \
        + b"x" * (settings.max_batch_bytes + 10) + b'"}'
    _rejected(client, driver, "/v1/batch", huge, status=413)
    # A gzip bomb: a small body that inflates past the limit.
    bomb = gzip.compress(b'{"batch":[],"pad":"' + b"0" * (50 * settings.max_batch_bytes) + b'"}')
    assert len(bomb) < settings.max_batch_bytes
    _rejected(client, driver, "/v1/batch", bomb, {"Content-Encoding": "gzip"}, status=413)


def test_a_batch_of_2500_max_size_items_is_refused_and_2500_small_ones_are_stored(client, driver, settings):
    item = {"type": "track", **_track()}
    pad = settings.max_message_bytes - len(orjson.dumps({**item, "properties": {"p": ""}})) - 64
    fat = {**item, "properties": {"p": "y" * pad}}
    assert len(orjson.dumps(fat)) <= settings.max_message_bytes
    body = orjson.dumps({"batch": [fat] * settings.max_batch_messages})
    _rejected(client, driver, "/v1/batch", body, status=413)
    over = orjson.dumps({"batch": [item] * (settings.max_batch_messages + 1)})
    assert _rejected(client, driver, "/v1/batch", over, status=400)["field"] == "batch"
    ok = orjson.dumps({"batch": [{**item, "messageId": f"small-{n}"} for n in range(settings.max_batch_messages)]})
    assert _post(client, "/v1/batch", ok).status_code == 200
    assert count(driver, "MATCH (e:Event) RETURN count(e)") == settings.max_batch_messages


@pytest.mark.parametrize("body", [
    b"\xff\xfe\x00{\"userId\":\"u\",\"event\":\"E\"}",
    b'{"userId":"\xc3\x28","event":"E"}',          # invalid UTF-8 inside a string
    b'{"userId":"u","event":"\xed\xa0\x80"}',       # a UTF-8-encoded lone surrogate
])
def test_non_utf8_bodies_are_a_400(client, driver, body):
    _rejected(client, driver, "/v1/track", body, status=400)
    _rejected(client, driver, "/v1/track", gzip.compress(body), {"Content-Encoding": "gzip"}, status=400)


def test_broken_gzip_and_unknown_encodings(client, driver):
    _rejected(client, driver, "/v1/track", b"\x1f\x8b\x08\x00garbage", {"Content-Encoding": "gzip"}, status=400)
    _rejected(client, driver, "/v1/track", gzip.compress(orjson.dumps(_track()))[:-9], {"Content-Encoding": "gzip"},
              status=400)
    _rejected(client, driver, "/v1/track", orjson.dumps(_track()), {"Content-Encoding": "br"}, status=415)


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e400"])
def test_nan_infinity_and_overflowing_floats_are_a_400(client, driver, literal):
    _rejected(client, driver, "/v1/track", b'{"userId":"u","event":"E","properties":{"x":' + literal + b"}}", status=400)
    _rejected(client, driver, "/v1/track", b'{"userId":"u","event":"E","timestamp":' + literal + b"}", status=400)


@pytest.mark.parametrize("number", [2**63 - 1, 2**63, 2**64 - 1, 2**80, -(2**63) - 1])
def test_huge_integers_in_properties_are_stored_never_refused_or_a_5xx(client, driver, number):
    body = b'{"messageId":"big-%d","userId":"u","event":"E","properties":{"n":%d,"nested":{"n":[%d]}}}' % (
        number, number, number)
    r = _post(client, "/v1/track", body)
    assert r.status_code == 200, r.text
    stored = client.get(f"/v1/events/big-{number}", headers=ADMIN).json()["properties"]["n"]
    # Exact up to 64 bits unsigned; orjson reads integers past that as floats.
    assert stored == (number if -(2**63) <= number < 2**64 else float(number))
    for field in ("timestamp", "sentAt", "originalTimestamp"):
        doc = _rejected(client, driver, "/v1/track", b'{"userId":"u","event":"E","%s":%d}' % (field.encode(), number),
                        status=400)
        assert doc["field"] == field
    r = _post(client, "/v1/track", b'{"userId":%d,"event":"E"}' % number)
    assert r.status_code in (200, 400), r.text


@pytest.mark.parametrize("fields, field", [
    ({"userId": ["a"]}, "userId"),
    ({"userId": {"a": 1}}, "userId"),
    ({"userId": True}, "userId"),
    ({"anonymousId": 1.5, "userId": None}, "anonymousId"),
    ({"event": 5}, "event"),
    ({"event": None}, "event"),
    ({"timestamp": {}}, "timestamp"),
    ({"timestamp": "yesterday"}, "timestamp"),
    ({"properties": "x"}, "properties"),
    ({"properties": [1]}, "properties"),
    ({"context": 3}, "context"),
    ({"messageId": 7}, "messageId"),
    ({"messageId": "m" * 300}, "messageId"),
    ({"integrations": []}, "integrations"),
])
def test_wrong_types_are_a_400_naming_the_field(client, driver, fields, field):
    doc = _rejected(client, driver, "/v1/track", orjson.dumps({**_track(), **fields}), status=400)
    assert doc["field"] == field
    batch = {"batch": [{"type": "track", **_track(messageId="ok-1")}, {"type": "track", **_track(), **fields}]}
    r = _post(client, "/v1/batch", orjson.dumps(batch))
    doc = r.json()
    assert r.status_code == 400 and doc["field"] == f"batch[1].{field}", doc
    assert (doc["accepted"], doc["refused"]) == (1, 1)  # the valid message beside it is stored
    events, _, _ = driver.execute_query("MATCH (e:Event) RETURN collect(e.messageId) AS ids")
    assert events[0]["ids"] == ["ok-1"]


@pytest.mark.parametrize("body, field", [
    (b"[]", "body"), (b'"x"', "body"), (b"null", "body"), (b"7", "body"), (b"", "body"),
    (b'{"batch":"x"}', "batch"), (b'{"batch":{}}', "batch"), (b'{"batch":[]}', "batch"),
    (b'{"batch":[1,"x",null]}', "batch[0]"), (b'{"batch":[{"type":"nope","userId":"u"}]}', "batch[0].type"),
    (b'{"batch":[{"type":"track","userId":"u","event":"E"}],"context":[]}', "context"),
    (b'{"batch":[{"type":"track","userId":"u","event":"E"}],"sentAt":1e300}', "sentAt"),
])
def test_malformed_batches_are_a_400_naming_the_field(client, driver, body, field):
    assert _rejected(client, driver, "/v1/batch", body, status=400)["field"] == field


def test_duplicate_keys_take_the_last_value(client, driver):
    r = _post(client, "/v1/track", b'{"userId":[],"userId":"dup-user","event":"E","messageId":"dup-keys"}')
    assert r.status_code == 200, r.text
    assert count(driver, "MATCH (:Event {messageId: 'dup-keys'})-[:SEEN_AS]->(i:Identifier {key: 'user_id:dup-user'}) "
                         "RETURN count(i)") == 1


@pytest.mark.parametrize("path, message", [
    ("/v1/identify", {"userId": "u-props", "properties": "not an object"}),
    ("/v1/group", {"userId": "u-props", "groupId": "g", "properties": ["a", 1]}),
    ("/v1/alias", {"userId": "u-props", "previousId": "a-props", "properties": 7}),
    ("/v1/track", {"userId": "u-props", "event": "E", "traits": "not an object"}),
])
def test_an_undeclared_field_of_any_json_type_is_kept_not_a_5xx(client, driver, path, message):
    """identify, group and alias declare no properties (and track no traits): whatever value
    such a field holds is kept in the event's JSON, and the message is stored."""
    r = _post(client, path, orjson.dumps(message))
    assert r.status_code == 200, r.text
    field = "traits" if path == "/v1/track" else "properties"
    stored = count(driver, "MATCH (e:Event {userId: 'u-props'}) RETURN count(e)")
    kept = count(driver, "MATCH (e:Event {userId: 'u-props'}) WHERE e[$field] = $json RETURN count(e)",
                 field=field, json=orjson.dumps(message[field]).decode())
    assert (stored, kept) == (1, 1)
