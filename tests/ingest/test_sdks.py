"""The official Segment and RudderStack Python SDKs, unmodified, against the app over real HTTP."""
from __future__ import annotations

import base64
from datetime import datetime, timezone

import httpx
import pytest
from rudderstack.analytics import Client as RudderClient
from segment.analytics import Client as SegmentClient

from tests.helpers import ADMIN, new_id, partition
from tests.ingest.support import parse_time


def _segment(url: str, write_key: str, on_error, **kw) -> SegmentClient:
    kw = {"gzip": True, "sync_mode": False, "max_retries": 2, **kw}
    return SegmentClient(write_key=write_key, host=url, on_error=on_error, **kw)


def _rudder(url: str, write_key: str, on_error, **kw) -> RudderClient:
    kw = {"gzip": True, "sync_mode": False, "max_retries": 2, **kw}
    return RudderClient(write_key=write_key, host=url, on_error=on_error, **kw)


SDKS = {"segment": _segment, "rudderstack": _rudder}


class Errors:
    """The SDK's on_error callback: it runs on the SDK's thread, so record; the test asserts.
    (Not a list subclass: the SDKs test `if self.on_error`, and an empty list is false.)"""

    def __init__(self):
        self.seen: list[tuple[Exception, list[dict]]] = []

    def __call__(self, error, batch):
        self.seen.append((error, batch))


def _event(server, message_id: str) -> dict:
    r = httpx.get(f"{server.url}/v1/events/{message_id}", headers=ADMIN, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def _a_visit(sdk) -> tuple[dict[str, dict], dict[str, str]]:
    """An anonymous visit that signs up and becomes known, through every call.
    -> (the messages sent, by messageId; the ids used)."""
    ids = {"anon": new_id("anon"), "anon2": new_id("anon"), "user": new_id("user"), "org": new_id("org")}
    ids["email"] = f"{ids['user']}@mail.io"
    calls = [
        sdk.page(anonymous_id=ids["anon"], category="Docs", name="Pricing", properties={"path": "/pricing"}),
        sdk.screen(anonymous_id=ids["anon"], name="Home", properties={"tab": 1}),
        sdk.track(anonymous_id=ids["anon"], event="Signed Up", properties={"plan": "pro"}),
        sdk.identify(user_id=ids["user"], anonymous_id=ids["anon"],
                     traits={"email": ids["email"], "name": "Ann"}),
        sdk.group(user_id=ids["user"], group_id=ids["org"], traits={"name": "Acme"}),
        sdk.alias(previous_id=ids["anon2"], user_id=ids["user"]),
        sdk.track(user_id=ids["user"], event="Order Completed", properties={"total": 9.5},
                  timestamp=datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)),
    ]
    assert all(ok for ok, _ in calls)
    return {m["messageId"]: m for _, m in calls}, ids


@pytest.mark.parametrize("name", SDKS)
def test_every_sdk_call_lands_over_gzip(live_server, driver, name):
    errors = Errors()
    sdk = SDKS[name](live_server.url, "dev-web-key", errors)
    try:
        sent, ids = _a_visit(sdk)
        sdk.flush()  # returns when the consumer has had an answer for everything queued
    finally:
        sdk.shutdown()
    assert errors.seen == []

    events = {mid: _event(live_server, mid) for mid in sent}
    assert [e["type"] for e in events.values()] == [m["type"] for m in sent.values()]
    for mid, event in events.items():
        assert event["messageId"] == mid
        assert event["source"] == "web"
        assert event["context"]["library"]["name"] == "analytics-python"
        assert event["sentAt"] is not None  # the SDK's batch-level sentAt reached every item
    by_type = {e["type"]: e for e in events.values()}
    assert by_type["page"]["name"] == "Pricing" and by_type["page"]["properties"] == {"path": "/pricing"}
    assert by_type["screen"]["name"] == "Home"
    assert by_type["group"]["groupId"] == ids["org"] and by_type["group"]["traits"] == {"name": "Acme"}
    assert by_type["alias"]["previousId"] == ids["anon2"]
    [order] = [e for e in events.values() if e.get("event") == "Order Completed"]
    assert parse_time(order["originalTimestamp"]) == datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert order["properties"] == {"total": 9.5}

    # identify joined the anonymous visit to the user, alias a second anonymous id: one profile.
    assert len({e["profileId"] for e in events.values()}) == 1
    expected = {f"anonymous_id:{ids['anon']}", f"anonymous_id:{ids['anon2']}", f"user_id:{ids['user']}",
                f"email:{ids['email']}"}
    assert frozenset(expected) in partition(driver)

    uploads = [r for r in live_server.requests if r["path"] == "/v1/batch"]
    assert uploads, "the SDK sent nothing to /v1/batch"
    for r in uploads:
        assert r["method"] == "POST"
        assert r["headers"]["content-encoding"] == "gzip"
        assert r["headers"]["authorization"] == "Basic " + base64.b64encode(b"dev-web-key:").decode()


def test_rudderstack_extra_fields_are_kept(live_server):
    errors = Errors()
    sdk = _rudder(live_server.url, "dev-mobile-key", errors)
    try:
        _, msg = sdk.identify(user_id=new_id("user"), traits={"plan": "pro"})
        sdk.flush()
    finally:
        sdk.shutdown()
    assert errors.seen == []
    event = _event(live_server, msg["messageId"])
    assert event["source"] == "mobile"
    assert event["channel"] == "server"  # RudderStack's own top-level field
    assert event["context"]["traits"] == {"plan": "pro"}  # RudderStack puts identify traits in the context


def test_segment_sync_mode_posts_at_once(live_server, driver):
    errors = Errors()
    sdk = _segment(live_server.url, "dev-server-key", errors, sync_mode=True)
    _, msg = sdk.track(user_id=new_id("user"), event="Synced", message_id=new_id("sync"))
    assert errors.seen == []
    assert _event(live_server, msg["messageId"])["source"] == "server"  # stored before track() returned


@pytest.mark.parametrize("name", SDKS)
def test_an_unknown_write_key_reaches_on_error_as_a_401(live_server, driver, name):
    """The error answer carries the `code` and `message` the SDKs read, so they report a 401 at once
    instead of retrying it as if the network had failed."""
    errors = Errors()
    sdk = SDKS[name](live_server.url, "no-such-key", errors)
    try:
        _, msg = sdk.track(user_id=new_id("user"), event="Lost")
        sdk.flush()
    finally:
        sdk.shutdown()
    [(error, batch)] = errors.seen
    assert getattr(error, "status", None) == 401, repr(error)
    assert "unknown write key" in str(error)
    assert [m["messageId"] for m in batch] == [msg["messageId"]]
    uploads = [r for r in live_server.requests if r["path"] == "/v1/batch"]
    assert len(uploads) == 1  # not retried
    assert httpx.get(f"{live_server.url}/v1/events/{msg['messageId']}", headers=ADMIN).status_code == 404


@pytest.mark.parametrize("name", SDKS)
def test_a_retried_sdk_message_is_stored_once(live_server, driver, name):
    """An SDK retry resends the same messageIds (with a new sentAt); the event is stored once."""
    errors = Errors()
    sdk = SDKS[name](live_server.url, "dev-web-key", errors)
    message_id, user = new_id("retry"), new_id("user")
    try:
        for _ in range(3):
            sdk.track(user_id=user, event="Retried", message_id=message_id)
            sdk.flush()
    finally:
        sdk.shutdown()
    assert errors.seen == []
    records, _, _ = driver.execute_query("MATCH (e:Event {messageId: $m}) RETURN count(e) AS n", m=message_id)
    assert records[0]["n"] == 1


@pytest.mark.parametrize("name", SDKS)
def test_a_bad_message_in_an_sdk_batch_does_not_lose_the_good_ones(live_server, driver, name):
    """The SDKs drop a batch answered 400 without retrying it: the batch's valid messages are
    stored before that answer, and the bad one reaches on_error with its field path."""
    errors = Errors()
    sdk = SDKS[name](live_server.url, "dev-web-key", errors)
    user = new_id("user")
    try:
        good = [sdk.track(user_id=user, event="Order Completed", properties={"n": n})[1] for n in range(5)]
        sdk.track(user_id="null", event="Order Completed")  # a blocked value, its only identifier
        sdk.flush()
    finally:
        sdk.shutdown()
    assert len(errors.seen) == 1 and "userId" in str(errors.seen[0][0])
    records, _, _ = driver.execute_query("MATCH (e:Event {userId: $u}) RETURN collect(e.messageId) AS ids", u=user)
    assert sorted(records[0]["ids"]) == sorted(m["messageId"] for m in good)
