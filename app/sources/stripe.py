"""Stripe as a source: verify the webhook signature with the official library, then turn payment and
subscription events into Segment track messages (source stripe, messageId = the Stripe event id, so a
redelivered event is stored once)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import stripe

from app.db import INT64_MAX, INT64_MIN
from app.identity.erasure import suppression_hash
from app.ingest.messages import FieldError, json_reason

EVENT_NAMES = {
    "charge.succeeded": "Charge Succeeded",
    "charge.refunded": "Charge Refunded",
    "payment_intent.succeeded": "Payment Succeeded",
    "invoice.paid": "Invoice Paid",
    "invoice.payment_failed": "Invoice Payment Failed",
    "checkout.session.completed": "Checkout Completed",
    "customer.subscription.created": "Subscription Created",
    "customer.subscription.updated": "Subscription Updated",
    "customer.subscription.deleted": "Subscription Canceled",
}
# Stripe amounts are in the smallest unit; these currencies have none below the unit.
ZERO_DECIMAL = {
    "bif",
    "clp",
    "djf",
    "gnf",
    "jpy",
    "kmf",
    "krw",
    "mga",
    "pyg",
    "rwf",
    "ugx",
    "vnd",
    "vuv",
    "xaf",
    "xof",
    "xpf",
}
# ...and these have three decimals: Stripe counts them in thousandths.
THREE_DECIMAL = {"bhd", "jod", "kwd", "omr", "tnd"}
_USER_ID_KEYS = ("userId", "user_id", "userid")


def verify(payload: bytes, signature: str | None, secret: str | None, tolerance: int) -> dict:
    """The event as a dict; FieldError naming Stripe-Signature when it is missing, wrong or too old,
    or `body` when the signed body is not a JSON object."""
    if not secret:
        raise FieldError(
            "Stripe-Signature", "no Stripe webhook secret is configured (CDP_STRIPE_WEBHOOK_SECRET)", 503
        )
    if not signature:
        raise FieldError("Stripe-Signature", "header required")
    try:
        stripe.WebhookSignature.verify_header(payload, signature, secret, tolerance)
    except stripe.SignatureVerificationError as exc:
        raise FieldError(
            "Stripe-Signature", f"signature verification failed: {exc.user_message or exc}"
        ) from None
    except ValueError as exc:  # not UTF-8
        raise FieldError("body", f"not a Stripe event: {exc}") from None
    # Parsed here rather than by the library: orjson refuses NaN and caps nesting depth with a
    # ValueError, where json's deep recursion or a non-object body would be a 500.
    try:
        event = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise FieldError("body", f"not a Stripe event: {json_reason(exc)}") from None
    if not isinstance(event, dict):
        raise FieldError("body", "not a Stripe event: must be a JSON object")
    return event


# Every field the mapping reads is checked here; a wrong type is a 400 naming its path, since a
# signed but malformed event is a bug on the sender's side that redelivery will not fix.
_MAX_CREATED = 253_402_300_799  # 9999-12-31T23:59:59Z, the last second datetime can hold
_KINDS: dict[str, tuple[Any, str]] = {
    "string": (lambda x: isinstance(x, str), "a string"),
    "id": (lambda x: isinstance(x, str) and 0 < len(x) <= 256, "a string of 1 to 256 characters"),
    "integer": (lambda x: type(x) is int and INT64_MIN <= x <= INT64_MAX, "a 64-bit integer"),
    "created": (lambda x: type(x) is int and 0 <= x <= _MAX_CREATED, "Unix seconds from 0 to 253402300799"),
    "boolean": (lambda x: isinstance(x, bool), "true or false"),
    "object": (lambda x: isinstance(x, dict), "an object"),
    "list": (lambda x: isinstance(x, list), "a list"),
}


class _Fields:
    """Reads one object's fields, each of a known kind; None when absent or null."""

    def __init__(self, obj: dict, path: str):
        self.obj, self.path = obj, path

    def get(self, key: str, kind: str, required: bool = False) -> Any:
        value = self.obj.get(key)
        where = f"{self.path}.{key}" if self.path else key
        if value is None:
            if required:
                raise FieldError(where, "required")
            return None
        ok, want = _KINDS[kind]
        if not ok(value):
            raise FieldError(where, f"must be {want}")
        return value

    def child(self, key: str, required: bool = False) -> _Fields:
        """The object at `key` (an empty one when absent or null)."""
        return _Fields(self.get(key, "object", required) or {}, f"{self.path}.{key}" if self.path else key)


def _amount(value: int | None, currency: str | None) -> float | None:
    if value is None:
        return None
    code = (currency or "").lower()
    return float(value) if code in ZERO_DECIMAL else value / (1000 if code in THREE_DECIMAL else 100)


def _user_id(obj: _Fields) -> str | None:
    for source in (obj.child("metadata"), obj.child("subscription_details").child("metadata")):
        for key in _USER_ID_KEYS:
            value = source.get(key, "string")  # Stripe metadata values are strings
            if value:
                return value
    return obj.get("client_reference_id", "string") or None  # Checkout's field for the app's own user id


def _email(obj: _Fields) -> str | None:
    for value in (
        obj.get("customer_email", "string"),
        obj.child("customer_details").get("email", "string"),
        obj.get("receipt_email", "string"),
        obj.child("billing_details").get("email", "string"),
    ):
        if value and value.strip():
            return value
    return None


def _properties(kind: str, obj: _Fields) -> dict:
    currency = obj.get("currency", "string")
    props: dict[str, Any] = {"currency": currency}
    if kind.startswith(("charge.", "payment_intent.")):
        props |= {
            "amount": _amount(obj.get("amount", "integer"), currency),
            "paymentIntentId": obj.get("payment_intent", "string"),
            "chargeId": obj.get("id", "string") if kind.startswith("charge.") else None,
        }
    elif kind.startswith("invoice."):
        props |= {
            "amount": _amount(
                obj.get("amount_paid" if kind == "invoice.paid" else "amount_due", "integer"), currency
            ),
            "invoiceId": obj.get("id", "string"),
            "invoiceNumber": obj.get("number", "string"),
            "subscriptionId": obj.get("subscription", "string"),
        }
    elif kind.startswith("checkout.session."):
        props |= {
            "amount": _amount(obj.get("amount_total", "integer"), currency),
            "checkoutSessionId": obj.get("id", "string"),
            "mode": obj.get("mode", "string"),
            "paymentStatus": obj.get("payment_status", "string"),
            "subscriptionId": obj.get("subscription", "string"),
        }
    elif kind.startswith("customer.subscription."):
        items = obj.child("items").get("data", "list") or []
        if items and not isinstance(items[0], dict):
            raise FieldError(f"{obj.path}.items.data[0]", "must be an object")
        price = _Fields(items[0] if items else {}, f"{obj.path}.items.data[0]").child("price")
        currency = price.get("currency", "string") or currency
        price_id = price.get("id", "string")
        props |= {
            "subscriptionId": obj.get("id", "string"),
            "status": obj.get("status", "string"),
            "priceId": price_id,
            "plan": price.get("nickname", "string") or price.get("lookup_key", "string") or price_id,
            "interval": price.child("recurring").get("interval", "string"),
            "currency": currency,
            "amount": _amount(price.get("unit_amount", "integer"), currency),
            "cancelAtPeriodEnd": obj.get("cancel_at_period_end", "boolean"),
        }
    return {k: v for k, v in props.items() if v is not None}


def to_message(event: dict, id_key: str) -> tuple[dict | None, str | None]:
    """(track message, None) or (None, why it was not mapped); FieldError naming the path of a
    field of the wrong type. `id_key` keys the digest that stands for an email in an anonymous id."""
    fields = _Fields(event, "")
    kind = fields.get("type", "string", required=True)
    name = EVENT_NAMES.get(kind)
    if name is None:  # acknowledged whatever else it holds: its fields are not ours to judge
        return None, f"event type {kind!r} is not mapped"
    event_id = fields.get("id", "id", required=True)
    created = fields.get("created", "created", required=True)
    livemode = fields.get("livemode", "boolean")
    obj = fields.child("data", required=True).child("object", required=True)
    user_id, email = _user_id(obj), _email(obj)
    customer = obj.get("customer", "string") or None
    props = _properties(kind, obj)
    if not (user_id or email or customer):
        return None, "no customer, email or metadata.userId to attribute it to"
    msg: dict[str, Any] = {
        "messageId": event_id,
        "event": name,
        "timestamp": datetime.fromtimestamp(created, tz=UTC).isoformat(),
        "properties": {
            **props,
            "stripeEventId": event_id,
            "stripeEventType": kind,
            "stripeCustomerId": customer,
            "livemode": livemode,
        },
        "context": {"library": {"name": "stripe-webhook"}},
    }
    msg["properties"] = {k: v for k, v in msg["properties"].items() if v is not None}
    if user_id:
        msg["userId"] = user_id
    # The Stripe customer is an identifier of its own: an event with both customer and email joins
    # them, and later events that carry only the customer (subscriptions) find the same profile.
    if customer:
        msg["anonymousId"] = f"stripe:{customer}"
    elif not user_id:
        # A message needs a user or anonymous id; the email identifies the person, and a keyed
        # digest of it keeps the address out of an id that exports, logs and prefix search show
        # (keyed: an unkeyed hash would confirm a guessed address).
        digest = suppression_hash(id_key, email.strip().lower())[:24]
        msg["anonymousId"] = f"stripe-email:{digest}"
    if email:
        msg["context"]["traits"] = {"email": email}
    return msg, None
