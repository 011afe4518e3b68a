"""Stripe webhook source: signature checked by the official library, events as track calls."""

import hashlib
import hmac
import json
import time

import pytest
from fastapi.testclient import TestClient

from app.main import create_app

SECRET = "whsec_test_secret_for_cdp"


def signed(payload: bytes, secret: str = SECRET, at: int | None = None) -> dict:
    ts = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + payload, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={ts},v1={mac}", "Content-Type": "application/json"}


def event(kind: str, obj: dict, evt_id: str = "evt_1") -> bytes:
    return json.dumps(
        {
            "id": evt_id,
            "object": "event",
            "type": kind,
            "created": 1767225600,
            "livemode": False,
            "data": {"object": obj},
        }
    ).encode()


@pytest.fixture
def stripe_client(clean_db, settings, redis_client):
    with TestClient(create_app(settings.model_copy(update={"stripe_webhook_secret": SECRET}))) as c:
        yield c


def _events(driver, **where):
    records, _, _ = driver.execute_query(
        "MATCH (e:Event {source: 'stripe'})-[:SEEN_AS]->(:Identifier)-[:BELONGS_TO]->(p:Profile) "
        "RETURN e.messageId AS id, e.event AS name, e.properties AS props, p.id AS profile "
        "ORDER BY e.ts, e.messageId"
    )
    return [dict(r) for r in records]


def test_checkout_then_subscription_land_on_one_profile_deduplicated(stripe_client, clean_db):
    checkout = event(
        "checkout.session.completed",
        {
            "id": "cs_1",
            "object": "checkout.session",
            "customer": "cus_9",
            "client_reference_id": "user-42",
            "customer_details": {"email": "Ann@Example.org"},
            "amount_total": 4900,
            "currency": "usd",
            "mode": "subscription",
            "payment_status": "paid",
            "subscription": "sub_1",
        },
        "evt_checkout",
    )
    r = stripe_client.post("/v1/webhooks/stripe", content=checkout, headers=signed(checkout))
    assert r.status_code == 200 and r.json() == {
        "received": True,
        "messageId": "evt_checkout",
        "duplicate": False,
    }
    again = stripe_client.post("/v1/webhooks/stripe", content=checkout, headers=signed(checkout))
    assert again.status_code == 200 and again.json()["duplicate"] is True

    sub = event(
        "customer.subscription.created",
        {
            "id": "sub_1",
            "object": "subscription",
            "customer": "cus_9",
            "status": "active",
            "items": {
                "data": [
                    {
                        "price": {
                            "id": "price_pro",
                            "nickname": "Pro",
                            "unit_amount": 4900,
                            "currency": "usd",
                            "recurring": {"interval": "month"},
                        }
                    }
                ]
            },
        },
        "evt_sub",
    )
    assert stripe_client.post("/v1/webhooks/stripe", content=sub, headers=signed(sub)).status_code == 200

    events = _events(clean_db)
    assert [e["id"] for e in events] == ["evt_checkout", "evt_sub"]
    assert [e["name"] for e in events] == ["Checkout Completed", "Subscription Created"]
    assert len({e["profile"] for e in events}) == 1  # the subscription found the customer's profile
    checkout_props = json.loads(events[0]["props"])
    assert checkout_props["amount"] == 49.0 and checkout_props["stripeCustomerId"] == "cus_9"
    assert json.loads(events[1]["props"])["plan"] == "Pro"
    keys = {
        r["key"]
        for r in clean_db.execute_query(
            "MATCH (i:Identifier)-[:BELONGS_TO]->(:Profile {id: $p}) RETURN i.key AS key",
            p=events[0]["profile"],
        ).records
    }
    assert keys == {"user_id:user-42", "email:ann@example.org", "anonymous_id:stripe:cus_9"}


def test_invoice_paid_by_email_and_zero_decimal_currency(stripe_client, clean_db):
    body = event(
        "invoice.paid",
        {
            "id": "in_1",
            "object": "invoice",
            "customer_email": "bo@example.org",
            "amount_paid": 5000,
            "currency": "jpy",
            "subscription": "sub_2",
        },
        "evt_inv",
    )
    assert stripe_client.post("/v1/webhooks/stripe", content=body, headers=signed(body)).status_code == 200
    [e] = _events(clean_db)
    assert e["name"] == "Invoice Paid" and json.loads(e["props"])["amount"] == 5000.0


def test_metadata_user_id_on_a_charge(stripe_client, clean_db):
    body = event(
        "charge.succeeded",
        {
            "id": "ch_1",
            "object": "charge",
            "amount": 1250,
            "currency": "eur",
            "metadata": {"userId": "user-7"},
        },
        "evt_ch",
    )
    assert stripe_client.post("/v1/webhooks/stripe", content=body, headers=signed(body)).status_code == 200
    [e] = _events(clean_db)
    profile_user = clean_db.execute_query(
        "MATCH (:Identifier {key: 'user_id:user-7'})-[:BELONGS_TO]->(p) RETURN p.id AS id"
    ).records[0]["id"]
    assert e["profile"] == profile_user and json.loads(e["props"])["amount"] == 12.5


@pytest.mark.parametrize(
    "headers",
    [
        {},  # no signature
        {"Stripe-Signature": "garbage"},
        "wrong-secret",
        "stale",
        "tampered",
    ],
)
def test_bad_or_stale_signatures_are_refused(stripe_client, clean_db, headers):
    body = event("charge.succeeded", {"id": "ch_2", "amount": 100, "currency": "usd", "customer": "cus_1"})
    if headers == "wrong-secret":
        headers = signed(body, secret="whsec_someone_else")
    elif headers == "stale":
        headers = signed(body, at=int(time.time()) - 3600)
    elif headers == "tampered":
        headers = signed(body)
        body = body.replace(b"100", b"999")
    r = stripe_client.post("/v1/webhooks/stripe", content=body, headers=headers)
    assert r.status_code == 400, r.text
    assert r.json()["field"] == "Stripe-Signature"
    assert _events(clean_db) == []


def test_unmapped_or_unattributable_events_are_acknowledged_and_ignored(stripe_client, clean_db):
    for body in (
        event("customer.created", {"id": "cus_1"}, "evt_a"),
        event("charge.succeeded", {"id": "ch_3", "amount": 100, "currency": "usd"}, "evt_b"),
    ):
        r = stripe_client.post("/v1/webhooks/stripe", content=body, headers=signed(body))
        assert r.status_code == 200 and r.json()["ignored"]
    assert _events(clean_db) == []


def test_without_a_configured_secret_the_endpoint_refuses(client):
    body = event("charge.succeeded", {"id": "ch_4", "customer": "cus_1"})
    r = client.post("/v1/webhooks/stripe", content=body, headers=signed(body))
    assert r.status_code == 503 and r.json()["field"] == "Stripe-Signature"
