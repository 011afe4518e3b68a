"""Every error answer has one shape, `{"success": false, "error", "field", "errors": [...]}` (plus the
SDKs' `code` and `message`), whoever answers it: a domain handler, the framework's router, the
ingest front. And cdp_ingest_rejected_total counts ingestion requests only."""
from __future__ import annotations

import orjson
import pytest
from fastapi.testclient import TestClient

from app.identity.store import StoreBusy
from app.ingest.writer import WriterClosed
from app.main import create_app
from tests.helpers import ADMIN, basic
from tests.ingest.support import message

JSON = {"Content-Type": "application/json"}


def assert_error(r, status: int, field: str | None) -> dict:
    """The documented error shape: `errors` lists the reason `error` and `field` give first."""
    assert r.status_code == status, r.text
    body = r.json()
    assert body["success"] is False, body
    assert body["field"] == field, body
    assert isinstance(body["error"], str) and body["error"], body
    assert isinstance(body["errors"], list) and body["errors"], body
    assert body["errors"][0] == {"field": field, "reason": body["error"]}, body
    assert body["code"] and body["message"], body
    return body


@pytest.fixture(params=[True, False], ids=["front", "routes"])
def ingest_client(request, clean_db, settings):
    """The app with ingest POSTs served by the front, and by the FastAPI routes."""
    with TestClient(create_app(settings.model_copy(update={"ingest_front": request.param}))) as c:
        yield c


def test_an_unknown_write_key_is_a_401_with_errors(ingest_client):
    r = ingest_client.post("/v1/track", json=message("track"), headers=basic("no-such-key"))
    body = assert_error(r, 401, "Authorization")
    assert body["error"] == "unknown write key"
    assert r.headers["www-authenticate"] == 'Basic realm="cdp"'


def test_a_missing_admin_token_is_a_401_with_errors(client):
    r = client.get("/v1/segments")
    assert_error(r, 401, "Authorization")
    assert r.headers["www-authenticate"] == 'Bearer realm="cdp"'


@pytest.mark.parametrize("path, field", [
    ("/v1/profiles/user_id:doesnotexist", "ref"),
    ("/v1/events/nope", "messageId"),
    ("/v1/segments/nope", "id"),
    ("/v1/syncs/nope/runs", "id"),
])
def test_not_found_answers_carry_errors(client, path, field):
    assert_error(client.get(path, headers=ADMIN), 404, field)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_a_wrong_method_on_an_ingest_path_is_a_405_in_our_shape(ingest_client, method):
    r = ingest_client.request(method, "/v1/track", headers=basic())
    body = assert_error(r, 405, "method")
    assert method in body["error"] and "/v1/track" in body["error"]
    assert body["code"] == "method_not_allowed"
    assert r.headers["allow"] == "POST"


def test_a_wrong_method_on_an_admin_path_is_a_405_in_our_shape(client):
    r = client.post("/v1/profiles/user_id:someone", headers=ADMIN)
    assert_error(r, 405, "method")
    assert "GET" in r.headers["allow"]


@pytest.mark.parametrize("path", ["/v1/no-such-path", "/nothing/here"])
def test_an_unknown_path_is_a_404_in_our_shape(client, path):
    body = assert_error(client.get(path, headers=ADMIN), 404, "path")
    assert path in body["error"]
    assert assert_error(client.post(path, json={}, headers=basic()), 404, "path")


@pytest.mark.parametrize("literal, named", [(b"NaN", "NaN"), (b"Infinity", "Infinity"), (b"-Infinity", "Infinity")])
def test_nan_and_infinity_are_named_as_not_json(ingest_client, literal, named):
    raw = b'{"userId":"u","event":"X","properties":{"v":' + literal + b"}}"
    r = ingest_client.post("/v1/track", content=raw, headers={**basic(), **JSON})
    body = assert_error(r, 400, "body")
    assert body["error"].startswith(f"invalid JSON: {named} is not a JSON number"), body
    assert "line 1 column" in body["error"]


def test_other_invalid_json_keeps_the_parser_reason(ingest_client):
    r = ingest_client.post("/v1/track", content=b"{not json", headers={**basic(), **JSON})
    body = assert_error(r, 400, "body")
    assert body["error"].startswith("invalid JSON: ") and "NaN" not in body["error"]


@pytest.mark.parametrize("exc, retry_after", [(StoreBusy("busy"), "1"), (WriterClosed("the service is shutting down"), "1")])
def test_unavailable_answers_carry_errors_and_retry_after(ingest_client, monkeypatch, exc, retry_after):
    async def refuse(_prepared):
        raise exc

    monkeypatch.setattr(ingest_client.app.state.services.writer, "submit", refuse)
    r = ingest_client.post("/v1/track", json=message("track"), headers=basic())
    assert_error(r, 503, None)
    assert r.headers["retry-after"] == retry_after


# --- cdp_ingest_rejected_total ---

def _rejected(client) -> dict[str, float]:
    """cdp_ingest_rejected_total by status, as /metrics shows it."""
    out = {}
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("cdp_ingest_rejected_total{"):
            labels, value = line.rsplit(" ", 1)
            out[labels.split('status="', 1)[1].split('"', 1)[0]] = float(value)
    return out


def _moved(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {s: after[s] - before.get(s, 0.0) for s in after if after[s] != before.get(s, 0.0)}


def test_admin_api_errors_are_not_ingest_rejections(client):
    before = _rejected(client)
    assert client.get("/v1/segments").status_code == 401
    assert client.get("/v1/profiles/user_id:doesnotexist", headers=ADMIN).status_code == 404
    assert client.get("/v1/profiles/user_id:x/explain", headers=ADMIN, params={"a": "user_id:x"}).status_code == 400
    assert client.post("/v1/segments", json={}, headers=ADMIN).status_code == 400
    base = client.post("/v1/segments", json={"name": "base", "text": "traits.plan = 'pro'"}, headers=ADMIN).json()
    assert client.post("/v1/segments", json={"name": "user", "text": f"NOT in_segment('{base['id']}')"},
                       headers=ADMIN).status_code == 201
    assert client.delete(f"/v1/segments/{base['id']}", headers=ADMIN).status_code == 409
    assert client.get("/v1/track").status_code == 405  # not an ingestion request
    assert client.get("/v1/no-such-path").status_code == 404
    assert _moved(before, _rejected(client)) == {}


def test_ingest_errors_are_counted_by_status(ingest_client):
    before = _rejected(ingest_client)
    assert ingest_client.post("/v1/track", json=message("track"), headers=basic("no-such-key")).status_code == 401
    assert ingest_client.post("/v1/t", content=b"{not json", headers={**basic(), **JSON}).status_code == 400
    assert ingest_client.post("/v1/batch", content=orjson.dumps({"batch": []}), headers=basic()).status_code == 400
    r = ingest_client.post("/v1/track", json=message("track"), headers={**basic(), "Content-Encoding": "br"})
    assert r.status_code == 415
    assert _moved(before, _rejected(ingest_client)) == {"401": 1.0, "400": 2.0, "415": 1.0}


def test_stripe_webhook_refusals_count_as_ingest_rejections(client):
    """The Stripe webhook is an ingestion source: a missing signing secret or signature shows here."""
    before = _rejected(client)
    r = client.post("/v1/webhooks/stripe", content=b"{}", headers={"Stripe-Signature": "t=1,v1=00"})
    assert_error(r, 503, "Stripe-Signature")
    assert _moved(before, _rejected(client)) == {"503": 1.0}
