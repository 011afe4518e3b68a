"""The browser-facing routes: /cdp.js with its cache validators, analytics-next's settings document,
and the bodies browsers send: a sendBeacon (text/plain, write key in the body, no Authorization)
and analytics-next's short paths."""
from __future__ import annotations

import orjson
import pytest

from app.api.snippet import SNIPPET
from tests.helpers import new_id
from tests.ingest.support import assert_rejected, message, read_event, stored

BEACON = {"Content-Type": "text/plain;charset=UTF-8", "Origin": "https://shop.example"}


def _beacon(client, body: dict, path: str = "/v1/batch"):
    """A POST as navigator.sendBeacon(url, string) makes it: text/plain, no Authorization header."""
    return client.post(path, content=orjson.dumps(body), headers=BEACON)


def test_cdp_js_is_javascript_with_cache_validators(client):
    r = client.get("/cdp.js")

    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/javascript")
    assert r.content == SNIPPET.read_bytes()
    assert r.headers["etag"].startswith('"') and len(r.headers["etag"]) > 10
    assert r.headers["cache-control"] == "public, max-age=300"
    assert r.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("form", ["{etag}", "W/{etag}", '"other", {etag}', "*"])
def test_cdp_js_answers_304_to_its_etag(client, form):
    etag = client.get("/cdp.js").headers["etag"]

    r = client.get("/cdp.js", headers={"If-None-Match": form.format(etag=etag)})

    assert r.status_code == 304
    assert r.content == b""
    assert r.headers["etag"] == etag
    assert r.headers["cache-control"] == "public, max-age=300"


def test_cdp_js_is_sent_again_for_another_etag(client):
    r = client.get("/cdp.js", headers={"If-None-Match": '"not-the-current-one"'})
    assert r.status_code == 200 and r.content == SNIPPET.read_bytes()


def test_settings_name_this_service_as_the_segment_io_api_host(client):
    r = client.get("/v1/projects/dev-web-key/settings", headers={"Origin": "https://shop.example"})

    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == "*"
    assert r.headers["cache-control"] == "private, max-age=60" and "Host" in r.headers["vary"]  # reflects the Host
    doc = r.json()
    segment_io = doc["integrations"]["Segment.io"]
    assert segment_io["apiKey"] == "dev-web-key"
    assert segment_io["apiHost"] == "testserver/v1"  # the host the request reached
    assert segment_io["protocol"] == "http"
    assert list(doc["integrations"]) == ["Segment.io"]  # no other destination for the library to load
    assert doc["metrics"]["sampleRate"] == 0  # the library reports nothing to Segment
    assert doc["remotePlugins"] == [] and doc["enabledMiddleware"] == {}


def test_settings_of_an_unknown_write_key_are_a_404_naming_it(client):
    r = client.get("/v1/projects/no-such-key/settings")

    body = assert_rejected(r, 404, "writeKey")
    assert "write key" in body["error"]
    assert "www-authenticate" not in r.headers  # a 401 prompt would be no help in a browser


def test_a_beacon_body_with_the_write_key_is_accepted(client):
    msgs = [{**message("track", userId=None, anonymousId=new_id("anon")), "type": "track"},
            {**message("page", userId=None, anonymousId=new_id("anon")), "type": "page"}]

    r = _beacon(client, {"batch": msgs, "sentAt": "2030-01-01T00:00:00Z", "writeKey": "dev-web-key"})

    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == "*"
    for m in msgs:
        event = read_event(client, m["messageId"])
        assert (event["type"], event["source"], event["anonymousId"]) == (m["type"], "web", m["anonymousId"])
        assert "writeKey" not in event


@pytest.mark.parametrize("body_key", [None, "", "no-such-key", 42])
def test_a_beacon_without_a_known_write_key_is_a_401(client, body_key):
    msg = {**message("track"), "type": "track"}
    body = {"batch": [msg]} if body_key is None else {"batch": [msg], "writeKey": body_key}

    assert_rejected(_beacon(client, body), 401, "Authorization")
    assert stored(client.app.state.services.driver, msg["messageId"]) == 0


def test_a_beacon_with_a_bad_item_stores_the_good_one_and_names_the_bad_one(client):
    good = {**message("track"), "type": "track"}
    bad = {"type": "track", "messageId": new_id("msg"), "event": "No Id"}  # neither userId nor anonymousId

    r = _beacon(client, {"batch": [good, bad], "writeKey": "dev-web-key"})

    body = assert_rejected(r, 400, "batch[1].userId")
    assert [e["field"] for e in body["errors"]] == ["batch[1].userId"]
    driver = client.app.state.services.driver
    assert stored(driver, good["messageId"]) == 1 and stored(driver, bad["messageId"]) == 0


def test_a_beacon_that_is_not_json_is_a_400_naming_the_body(client):
    r = client.post("/v1/batch", content=b"writeKey=dev-web-key&batch=", headers=BEACON)
    assert_rejected(r, 400, "body")


@pytest.mark.parametrize("path,type_", [("/v1/t", "track"), ("/v1/i", "identify"), ("/v1/p", "page"),
                                        ("/v1/s", "screen"), ("/v1/g", "group"), ("/v1/a", "alias")])
def test_analytics_next_short_paths_take_its_text_plain_bodies(client, path, type_):
    # analytics-next posts each message to {apiHost}/{first letter of the type}, as text/plain, with
    # the write key (and its _metadata) in the body.
    msg = {**message(type_), "type": type_, "writeKey": "dev-web-key",
           "_metadata": {"bundled": ["Segment.io"], "unbundled": [], "bundledIds": []}}

    r = _beacon(client, msg, path)

    assert r.status_code == 200, r.text
    assert read_event(client, msg["messageId"])["type"] == type_


def test_analytics_next_batch_path(client):
    msgs = [{**message("track"), "type": "track"}, {**message("identify"), "type": "identify"}]
    assert _beacon(client, {"batch": msgs, "writeKey": "dev-web-key"}, "/v1/b").status_code == 200
    assert [read_event(client, m["messageId"])["type"] for m in msgs] == ["track", "identify"]

