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


def test_three_decimal_currencies_are_counted_in_thousandths(stripe_client, clean_db):
    body = event("charge.succeeded", {"id": "ch_kwd", "object": "charge", "amount": 5124, "currency": "KWD",
                                      "billing_details": {"email": "kw@example.org"}}, "evt_kwd")
    assert stripe_client.post("/v1/webhooks/stripe", content=body, headers=signed(body)).status_code == 200
    [e] = _events(clean_db)
    assert json.loads(e["props"])["amount"] == 5.124


def test_an_event_with_only_an_email_gets_an_anonymous_id_that_does_not_hold_it(stripe_client, clean_db):
    body = event("charge.succeeded", {"id": "ch_e", "object": "charge", "amount": 100, "currency": "usd",
                                      "receipt_email": "Only.Email@example.org"}, "evt_e")
    assert stripe_client.post("/v1/webhooks/stripe", content=body, headers=signed(body)).status_code == 200
    keys = {r["key"] for r in clean_db.execute_query(
        "MATCH (:Identifier {key: 'email:only.email@example.org'})-[:BELONGS_TO]->(p:Profile)"
        "<-[:BELONGS_TO]-(i:Identifier) RETURN i.key AS key").records}
    [anonymous] = keys - {"email:only.email@example.org"}
    assert anonymous.startswith("anonymous_id:stripe-email:") and "only.email" not in anonymous


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


def _stored(driver) -> int:
    return driver.execute_query("MATCH (e:Event) RETURN count(e) AS n").records[0]["n"]


def _raw(**top) -> bytes:
    """A charge event with top-level fields replaced (a value of ... removes the field)."""
    fields = json.loads(event("charge.succeeded", {"id": "ch_9", "amount": 100, "currency": "usd",
                                                   "customer": "cus_9"}))
    fields.update(top)
    return json.dumps({k: v for k, v in fields.items() if v is not ...}).encode()


def _with(kind: str, **obj) -> bytes:
    return event(kind, {"id": "x_1", "customer": "cus_9", "currency": "usd", **obj})


_SUB = "customer.subscription.updated"
_ITEMS = "data.object.items.data[0]"


@pytest.mark.parametrize("body, field, fragment", [
    (b"[1,2]", "body", "JSON object"),
    (b'"evt"', "body", "JSON object"),
    (b"null", "body", "JSON object"),
    (b"{", "body", "not a Stripe event"),
    (b'{"id": NaN}', "body", "not a Stripe event"),
    (b"[" * 5000 + b"]" * 5000, "body", "not a Stripe event"),
    (b"\xff\xfe{}", "body", "not a Stripe event"),
    (_raw(data={"object": "ch_9"}), "data.object", "must be an object"),
    (_raw(data={"object": None}), "data.object", "required"),
    (_raw(data=[1]), "data", "must be an object"),
    (_raw(data=...), "data", "required"),
    (_raw(created="yesterday"), "created", "Unix seconds"),
    (_raw(created=10**30), "created", "Unix seconds"),
    (_raw(created=-1), "created", "Unix seconds"),
    (_raw(created=1.5), "created", "Unix seconds"),
    (_raw(created=True), "created", "Unix seconds"),
    (_raw(created=...), "created", "required"),
    (_raw(id=...), "id", "required"),
    (_raw(id=42), "id", "string"),
    (_raw(id=""), "id", "string of 1 to 256"),
    (_raw(id="e" * 257), "id", "string of 1 to 256"),
    (_raw(type=None), "type", "required"),
    (_raw(type=["charge.succeeded"]), "type", "must be a string"),
    (_raw(livemode="no"), "livemode", "true or false"),
    (_with("charge.succeeded", amount="12"), "data.object.amount", "64-bit integer"),
    (_with("charge.succeeded", amount=10**30), "data.object.amount", "64-bit integer"),
    (_with("charge.succeeded", amount=True), "data.object.amount", "64-bit integer"),
    (_with("charge.succeeded", currency=1), "data.object.currency", "must be a string"),
    (_with("charge.succeeded", customer={"id": "cus_9"}), "data.object.customer", "must be a string"),
    (_with("charge.succeeded", metadata="user-7"), "data.object.metadata", "must be an object"),
    (_with("charge.succeeded", metadata={"userId": {"a": 1}}), "data.object.metadata.userId", "a string"),
    (_with("charge.succeeded", payment_intent=["pi"]), "data.object.payment_intent", "must be a string"),
    (_with("charge.succeeded", billing_details={"email": 5}), "data.object.billing_details.email", "string"),
    (_with("checkout.session.completed", customer_details="ann@example.org"), "data.object.customer_details",
     "must be an object"),
    (_with("checkout.session.completed", client_reference_id=7), "data.object.client_reference_id", "string"),
    (_with("invoice.paid", amount_paid=1e3), "data.object.amount_paid", "64-bit integer"),
    (_with("invoice.paid", subscription_details={"metadata": []}),
     "data.object.subscription_details.metadata", "must be an object"),
    (_with(_SUB, items="si_1"), "data.object.items", "must be an object"),
    (_with(_SUB, items={"data": {"price": {}}}), "data.object.items.data", "must be a list"),
    (_with(_SUB, items={"data": [1]}), _ITEMS, "must be an object"),
    (_with(_SUB, items={"data": [{"price": "price_1"}]}), f"{_ITEMS}.price", "must be an object"),
    (_with(_SUB, items={"data": [{"price": {"unit_amount": "4"}}]}), f"{_ITEMS}.price.unit_amount",
     "integer"),
    (_with(_SUB, items={"data": [{"price": {"recurring": []}}]}), f"{_ITEMS}.price.recurring", "an object"),
    (_with(_SUB, cancel_at_period_end="yes"), "data.object.cancel_at_period_end", "true or false"),
])
def test_signed_but_malformed_events_are_a_400_naming_the_field(stripe_client, clean_db, body, field,
                                                                fragment):
    r = stripe_client.post("/v1/webhooks/stripe", content=body, headers=signed(body))
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field and fragment in r.json()["error"], r.json()
    assert _stored(clean_db) == 0


def test_nulls_and_empty_lists_are_absent_fields_not_errors(stripe_client, clean_db):
    body = _with(_SUB, metadata=None, customer_details=None, items={"data": []}, cancel_at_period_end=None,
                 status=None)
    r = stripe_client.post("/v1/webhooks/stripe", content=body, headers=signed(body))
    assert r.status_code == 200 and r.json()["messageId"] == "evt_1", r.text
    [e] = _events(clean_db)
    assert json.loads(e["props"]) == {"currency": "usd", "subscriptionId": "x_1", "stripeEventId": "evt_1",
                                      "stripeEventType": _SUB, "stripeCustomerId": "cus_9", "livemode": False}


def test_an_unmapped_type_is_acknowledged_whatever_it_holds(stripe_client, clean_db):
    body = _raw(type="customer.tax_id.created", created="yesterday", data={"object": "txi_1"})
    r = stripe_client.post("/v1/webhooks/stripe", content=body, headers=signed(body))
    assert r.status_code == 200 and "not mapped" in r.json()["ignored"], r.text
    assert _stored(clean_db) == 0
