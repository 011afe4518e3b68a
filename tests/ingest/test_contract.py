"""The Segment HTTP Tracking API contract: every endpoint stores a valid message, readable back with
its fields; write-key and admin auth; batch-level context; gzip bodies."""
from __future__ import annotations

import gzip

import orjson
import pytest

from tests.helpers import ADMIN, basic, new_id
from tests.ingest.support import (ALL_ENDPOINTS, BATCH_ENDPOINTS, SINGLE_ENDPOINTS, body_for, message,
                                  read_event, stored)

# (endpoint, message type) for every way a message can arrive.
ROUTES = [(path, type_) for path, type_ in SINGLE_ENDPOINTS.items()]
ROUTES += [("/api/track", t) for t in ("track", "identify", "alias")]
ROUTES += [(path, t) for path in BATCH_ENDPOINTS for t in SINGLE_ENDPOINTS.values()]

# Fields each type must give back as sent (objects parsed back, not JSON strings).
TYPE_FIELDS = {
    "track": ("event", "properties"),
    "identify": ("traits",),
    "page": ("name", "category", "properties"),
    "screen": ("name", "category", "properties"),
    "group": ("groupId", "traits"),
    "alias": ("previousId",),
}


@pytest.mark.parametrize("path,type_", ROUTES, ids=[f"{p}-{t}" for p, t in ROUTES])
def test_a_valid_message_is_stored_and_readable(client, path, type_):
    msg = message(type_, context={"ip": "10.0.0.1"}, integrations={"All": True})

    r = client.post(path, json=body_for(path, msg, type_), headers=basic())

    assert r.status_code == 200, r.text
    assert r.json() == {"success": True}
    event = read_event(client, msg["messageId"])
    assert event["messageId"] == msg["messageId"]
    assert event["type"] == type_
    assert event["userId"] == msg["userId"]
    assert event["source"] == "web"
    for name in TYPE_FIELDS[type_]:
        assert event[name] == msg[name], name
    assert event["context"] == {"ip": "10.0.0.1"}
    assert event["integrations"] == {"All": True}
    assert isinstance(event["profileId"], str) and event["profileId"]


def test_the_path_decides_the_type_of_a_single_message(client):
    msg = {**message("track"), "type": "identify"}  # a stray type does not turn a track into an identify
    assert client.post("/v1/track", json=msg, headers=basic()).status_code == 200
    event = read_event(client, msg["messageId"])
    assert (event["type"], event["event"]) == ("track", "Order Completed")


def test_page_short_path_is_a_page(client):
    msg = message("page")
    assert client.post("/v1/p", json=msg, headers=basic()).status_code == 200
    assert read_event(client, msg["messageId"])["type"] == "page"


def test_one_batch_carries_every_type(client):
    msgs = [{**message(t), "type": t} for t in SINGLE_ENDPOINTS.values()]
    assert client.post("/v1/batch", json={"batch": msgs}, headers=basic()).status_code == 200
    assert [read_event(client, m["messageId"])["type"] for m in msgs] == [m["type"] for m in msgs]


def test_fields_round_trip_with_their_json_types(client):
    msg = message("identify", userId=4711, anonymousId=new_id("anon"), messageId="web/2024/id:1",
                  traits={"age": 41, "vip": True, "score": 0.5, "tags": ["a", "b"], "none": None},
                  channel="server", event={"custom": "top-level field"})
    assert client.post("/v1/identify", json=msg, headers=basic()).status_code == 200

    event = read_event(client, "web/2024/id:1")
    assert event["userId"] == "4711"  # numeric ids are kept as strings
    assert event["anonymousId"] == msg["anonymousId"]
    assert event["traits"] == msg["traits"]
    assert event["channel"] == "server"  # fields outside the spec are kept
    assert event["event"] == {"custom": "top-level field"}  # ...as sent, even under a known name


@pytest.mark.parametrize("key,source", [("dev-web-key", "web"), ("dev-mobile-key", "mobile"),
                                        ("dev-server-key", "server")])
def test_the_source_comes_from_the_write_key(client, key, source):
    msg = message("track")
    assert client.post("/v1/track", json=msg, headers=basic(key)).status_code == 200
    assert read_event(client, msg["messageId"])["source"] == source


def test_write_key_with_a_password_part_still_names_the_source(client):
    import base64
    msg = message("track")
    header = {"Authorization": "Basic " + base64.b64encode(b"dev-mobile-key:ignored").decode()}
    assert client.post("/v1/track", json=msg, headers=header).status_code == 200
    assert read_event(client, msg["messageId"])["source"] == "mobile"


@pytest.mark.parametrize("path", ["/v1/track", "/api/track", "/v1/batch", "/v1/import"])
def test_write_key_in_the_body(client, path):
    msg = message("track")
    body = {**body_for(path, msg, "track"), "writeKey": "dev-server-key"}
    r = client.post(path, json=body)  # no Authorization header
    assert r.status_code == 200, r.text
    event = read_event(client, msg["messageId"])
    assert event["source"] == "server"
    assert "writeKey" not in event  # the key is not stored with the event


@pytest.mark.parametrize("path", ALL_ENDPOINTS)
@pytest.mark.parametrize("auth", ["unknown-key", "missing", "bearer", "unknown-body-key"])
def test_ingest_without_a_known_write_key_is_401(client, driver, path, auth):
    type_ = SINGLE_ENDPOINTS.get(path, "track")
    msg = message(type_)
    body = body_for(path, msg, type_)
    headers = {}
    if auth == "unknown-key":
        headers = basic("no-such-key")
    elif auth == "bearer":
        headers = ADMIN  # an admin token is not a write key
    elif auth == "unknown-body-key":
        body = {**body, "writeKey": "no-such-key"}

    r = client.post(path, json=body, headers=headers)

    assert r.status_code == 401, r.text
    assert r.json()["field"] == "Authorization"
    assert r.json()["error"]
    assert r.headers["www-authenticate"].startswith("Basic")
    assert stored(driver, msg["messageId"]) == 0


def test_an_unknown_header_key_is_not_rescued_by_a_body_key(client, driver):
    msg = {**message("track"), "writeKey": "dev-web-key"}
    r = client.post("/v1/track", json=msg, headers=basic("no-such-key"))
    assert r.status_code == 401
    assert stored(driver, msg["messageId"]) == 0


@pytest.mark.parametrize("path", ["/v1/track", "/v1/batch"])
def test_a_header_key_is_checked_before_the_body_is_read(client, path):
    for content in (b"{not json", b"x" * (600 * 1024), b"\x1f\x8b broken"):
        r = client.post(path, content=content, headers={**basic("no-such-key"), "Content-Encoding": "gzip"})
        assert r.status_code == 401, r.text
    # Without a header key the body has to be read to find its writeKey: a bad body is a 400.
    r = client.post(path, content=b"{not json")
    assert r.status_code == 400
    assert r.json()["field"] == "body"


def test_reading_events_needs_the_admin_token(client):
    msg = message("track")
    assert client.post("/v1/track", json=msg, headers=basic()).status_code == 200
    url = f"/v1/events/{msg['messageId']}"

    for headers in ({}, {"Authorization": "Bearer wrong-token"}, {"Authorization": "Bearer dev-web-key"},
                    basic("dev-web-key"), {"Authorization": "dev-admin-token"}):
        r = client.get(url, headers=headers)
        assert r.status_code == 401, headers
        assert r.json()["field"] == "Authorization"
        assert "type" not in r.json()  # nothing of the event leaks
    assert client.get(url, headers=ADMIN).status_code == 200


def test_an_unknown_message_id_is_404_naming_it(client):
    r = client.get("/v1/events/never-sent-42", headers=ADMIN)
    assert r.status_code == 404
    assert r.json()["field"] == "messageId"
    assert "never-sent-42" in r.json()["error"]


def test_batch_context_and_integrations_are_merged_into_each_item(client):
    own = message("track", context={"library": {"name": "item-lib"}, "locale": "nb-NO"},
                  integrations={"Mixpanel": False})
    bare = message("page")
    body = {
        "batch": [{**own, "type": "track"}, {**bare, "type": "page"}],
        "context": {"ip": "203.0.113.9", "library": {"name": "batch-lib"}},
        "integrations": {"All": False, "Mixpanel": True},
    }
    assert client.post("/v1/batch", json=body, headers=basic()).status_code == 200

    first = read_event(client, own["messageId"])
    assert first["context"] == {"ip": "203.0.113.9", "library": {"name": "item-lib"}, "locale": "nb-NO"}
    assert first["integrations"] == {"All": False, "Mixpanel": False}
    second = read_event(client, bare["messageId"])
    assert second["context"] == {"ip": "203.0.113.9", "library": {"name": "batch-lib"}}
    assert second["integrations"] == {"All": False, "Mixpanel": True}


def test_batch_context_feeds_identity_resolution(client):
    """An email in the batch-level context.traits is an identifier of every item: it links them."""
    email = f"{new_id('p')}@mail.io"
    anonymous = message("track", userId=None, anonymousId=new_id("anon"))
    known = message("track")
    body = {"batch": [{**anonymous, "type": "track"}, {**known, "type": "track"}],
            "context": {"traits": {"email": email}}}
    assert client.post("/v1/batch", json=body, headers=basic()).status_code == 200
    profiles = {read_event(client, m["messageId"])["profileId"] for m in (anonymous, known)}
    assert len(profiles) == 1


def test_group_traits_describe_the_account_and_join_nobody(client):
    """Three visitors of one company send its billing email in group traits: three people, and the
    email is free for the billing person's own identify."""
    billing = f"billing-{new_id('acme')}@acme.io"
    visitors = [message("group", type="group", userId=None, anonymousId=new_id("anon"), groupId="acme",
                        traits={"name": "Acme", "email": billing, "phone": "+1 415 555 0199"}) for _ in range(3)]
    assert client.post("/v1/batch", json={"batch": visitors}, headers=basic()).status_code == 200
    assert len({read_event(client, m["messageId"])["profileId"] for m in visitors}) == 3
    carol = message("identify", traits={"email": billing})
    assert client.post("/v1/identify", json=carol, headers=basic()).status_code == 200
    r = client.get(f"/v1/profiles/email:{billing}", headers=ADMIN)
    assert r.status_code == 200 and r.json()["id"] == read_event(client, carol["messageId"])["profileId"]


def _gz(value) -> bytes:
    return gzip.compress(orjson.dumps(value))


@pytest.mark.parametrize("path", ["/v1/track", "/api/track", "/v1/batch", "/v1/import"])
def test_gzip_bodies_are_accepted(client, path):
    msg = message("track")
    headers = {**basic(), "Content-Encoding": "gzip", "Content-Type": "application/json"}
    r = client.post(path, content=_gz(body_for(path, msg, "track")), headers=headers)
    assert r.status_code == 200, r.text
    assert read_event(client, msg["messageId"])["event"] == "Order Completed"


def test_gzip_body_may_carry_the_write_key(client):
    msg = message("track")
    body = {"batch": [{**msg, "type": "track"}], "writeKey": "dev-mobile-key"}
    r = client.post("/v1/batch", content=_gz(body), headers={"Content-Encoding": "gzip"})
    assert r.status_code == 200, r.text
    assert read_event(client, msg["messageId"])["source"] == "mobile"


@pytest.mark.parametrize("path", ALL_ENDPOINTS)
@pytest.mark.parametrize("payload", ["not-gzip", "truncated", "plain-json"])
def test_broken_gzip_is_400(client, driver, path, payload):
    type_ = SINGLE_ENDPOINTS.get(path, "track")
    msg = message(type_)
    raw = orjson.dumps(body_for(path, msg, type_))
    content = {"not-gzip": b"\x1f\x8bthis is not deflate data",
               "truncated": gzip.compress(raw)[:-12],  # the stream ends before its end marker
               "plain-json": raw}[payload]
    r = client.post(path, content=content, headers={**basic(), "Content-Encoding": "gzip"})
    assert r.status_code == 400, r.text
    assert r.json()["field"] == "body"
    assert "gzip" in r.json()["error"]
    assert stored(driver, msg["messageId"]) == 0


def test_an_unsupported_content_encoding_is_415(client):
    r = client.post("/v1/track", content=orjson.dumps(message("track")),
                    headers={**basic(), "Content-Encoding": "br"})
    assert r.status_code == 415
    assert r.json()["field"] == "Content-Encoding"


def test_errors_carry_the_code_and_message_the_sdks_read(client):
    r = client.post("/v1/track", json={"userId": "u-1"}, headers=basic())
    assert r.status_code == 400
    assert r.json()["code"] == "invalid_request"
    assert r.json()["message"].startswith("event:")
    r = client.post("/v1/track", json=message("track"), headers=basic("no-such-key"))
    assert (r.json()["code"], r.json()["message"]) == ("unauthorized", "Authorization: unknown write key")
