"""Shared bits of the ingestion tests: the endpoints, valid messages, reads of stored events."""
from __future__ import annotations

from datetime import datetime

from tests.helpers import ADMIN, count, new_id

SINGLE_ENDPOINTS = {  # path -> the message type it ingests
    "/v1/track": "track",
    "/v1/identify": "identify",
    "/v1/page": "page",
    "/v1/screen": "screen",
    "/v1/group": "group",
    "/v1/alias": "alias",
}
BATCH_ENDPOINTS = ("/v1/batch", "/v1/import")
ALL_ENDPOINTS = (*SINGLE_ENDPOINTS, "/api/track", *BATCH_ENDPOINTS)


def message(type_: str, **fields) -> dict:
    """A valid message of the type, with a fresh messageId and userId unless given."""
    base: dict = {"messageId": new_id("msg"), "userId": new_id("user")}
    base.update({
        "track": {"event": "Order Completed", "properties": {"total": 42.5, "items": [{"sku": "a-1"}]}},
        "identify": {"traits": {"plan": "pro", "address": {"city": "Oslo"}}},
        "page": {"name": "Pricing", "category": "Docs", "properties": {"path": "/pricing"}},
        "screen": {"name": "Settings", "category": "Account", "properties": {"tab": 2}},
        "group": {"groupId": new_id("org"), "traits": {"employees": 12}},
        "alias": {"previousId": new_id("anon")},
    }[type_])
    base.update(fields)
    return base


def body_for(path: str, msg: dict, type_: str) -> dict:
    """The request body that carries one message to the endpoint."""
    if path in BATCH_ENDPOINTS:
        return {"batch": [{**msg, "type": type_}]}
    if path == "/api/track":
        return {**msg, "type": type_}
    return msg


def read_event(client, message_id: str) -> dict:
    r = client.get(f"/v1/events/{message_id}", headers=ADMIN)
    assert r.status_code == 200, r.text
    return r.json()


def stored(driver, *message_ids: str) -> int:
    """How many Event nodes carry these messageIds."""
    return count(driver, "MATCH (e:Event) WHERE e.messageId IN $ids RETURN count(e)", ids=list(message_ids))


def events_of(driver, user_id: str) -> list[dict]:
    """Properties of the Event nodes sent with this userId."""
    records, _, _ = driver.execute_query(
        "MATCH (e:Event {userId: $u}) RETURN properties(e) AS event ORDER BY e.messageId", u=user_id)
    return [r["event"] for r in records]


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def assert_rejected(r, status: int, field: str) -> dict:
    """A clear rejection: the status, and a JSON body naming the field and why."""
    assert r.status_code == status, r.text
    body = r.json()
    assert body["success"] is False
    assert body["field"] == field, body
    assert isinstance(body["error"], str) and body["error"], body
    assert not body["error"].startswith("Value error"), body
    return body
