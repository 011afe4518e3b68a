"""Stripe as a source: verify the webhook signature with the official library, then turn payment and
subscription events into Segment track messages (source stripe, messageId = the Stripe event id, so a
redelivered event is stored once)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import stripe

from app.ingest.messages import FieldError

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
_USER_ID_KEYS = ("userId", "user_id", "userid")


def verify(payload: bytes, signature: str | None, secret: str | None, tolerance: int) -> dict:
    """The event as a dict; FieldError naming Stripe-Signature when it is missing, wrong or too old."""
    if not secret:
        raise FieldError(
            "Stripe-Signature", "no Stripe webhook secret is configured (CDP_STRIPE_WEBHOOK_SECRET)", 503
        )
    if not signature:
        raise FieldError("Stripe-Signature", "header required")
    try:
        event = stripe.Webhook.construct_event(payload, signature, secret, tolerance=tolerance)
    except stripe.SignatureVerificationError as exc:
        raise FieldError(
            "Stripe-Signature", f"signature verification failed: {exc.user_message or exc}"
        ) from None
    except ValueError as exc:
        raise FieldError("body", f"not a Stripe event: {exc}") from None
    return event.to_dict()


def _amount(value: Any, currency: str | None) -> float | None:
    if not isinstance(value, int):
        return None
    return float(value) if (currency or "").lower() in ZERO_DECIMAL else value / 100


def _user_id(obj: dict) -> str | None:
    for source in (obj.get("metadata"), (obj.get("subscription_details") or {}).get("metadata")):
        for key in _USER_ID_KEYS:
            if isinstance(source, dict) and source.get(key):
                return str(source[key])
    ref = obj.get("client_reference_id")  # Checkout's field for the app's own user id
    return str(ref) if ref else None


def _email(obj: dict) -> str | None:
    for value in (
        obj.get("customer_email"),
        (obj.get("customer_details") or {}).get("email"),
        obj.get("receipt_email"),
        (obj.get("billing_details") or {}).get("email"),
    ):
        if value:
            return str(value)
    return None


def _properties(kind: str, obj: dict) -> dict:
    currency = obj.get("currency")
    props: dict[str, Any] = {"currency": currency}
    if kind.startswith(("charge.", "payment_intent.")):
        props |= {
            "amount": _amount(obj.get("amount"), currency),
            "paymentIntentId": obj.get("payment_intent"),
            "chargeId": obj.get("id") if kind.startswith("charge.") else None,
        }
    elif kind.startswith("invoice."):
        props |= {
            "amount": _amount(
                obj.get("amount_paid") if kind == "invoice.paid" else obj.get("amount_due"), currency
            ),
            "invoiceId": obj.get("id"),
            "invoiceNumber": obj.get("number"),
            "subscriptionId": obj.get("subscription"),
        }
    elif kind.startswith("checkout.session."):
        props |= {
            "amount": _amount(obj.get("amount_total"), currency),
            "checkoutSessionId": obj.get("id"),
            "mode": obj.get("mode"),
            "paymentStatus": obj.get("payment_status"),
            "subscriptionId": obj.get("subscription"),
        }
    elif kind.startswith("customer.subscription."):
        item = ((obj.get("items") or {}).get("data") or [{}])[0]
        price = item.get("price") or {}
        currency = price.get("currency") or currency
        props |= {
            "subscriptionId": obj.get("id"),
            "status": obj.get("status"),
            "priceId": price.get("id"),
            "plan": price.get("nickname") or price.get("lookup_key") or price.get("id"),
            "interval": (price.get("recurring") or {}).get("interval"),
            "currency": currency,
            "amount": _amount(price.get("unit_amount"), currency),
            "cancelAtPeriodEnd": obj.get("cancel_at_period_end"),
        }
    return {k: v for k, v in props.items() if v is not None}


def to_message(event: dict) -> tuple[dict | None, str | None]:
    """(track message, None) or (None, why it was not mapped)."""
    kind = event.get("type")
    name = EVENT_NAMES.get(kind)
    if name is None:
        return None, f"event type {kind!r} is not mapped"
    obj = (event.get("data") or {}).get("object") or {}
    user_id, email = _user_id(obj), _email(obj)
    customer = obj.get("customer") if isinstance(obj.get("customer"), str) else None
    if not (user_id or email or customer):
        return None, "no customer, email or metadata.userId to attribute it to"
    msg: dict[str, Any] = {
        "messageId": event["id"],
        "event": name,
        "timestamp": datetime.fromtimestamp(event.get("created") or 0, tz=UTC).isoformat(),
        "properties": {
            **_properties(kind, obj),
            "stripeEventId": event["id"],
            "stripeEventType": kind,
            "stripeCustomerId": customer,
            "livemode": event.get("livemode"),
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
        msg["anonymousId"] = f"stripe-email:{email.strip().lower()}"
    if email:
        msg["context"]["traits"] = {"email": email}
    return msg, None
