"""Stripe webhook endpoint: signature checked first, then the event goes through the same ingest
path as any track call (IngestService validation, the group-commit writer, identity resolution)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from app.api.body import read_capped
from app.api.deps import services
from app.sources import stripe as stripe_source

router = APIRouter(tags=["sources"])

SOURCE = "stripe"


@router.post("/v1/webhooks/stripe", summary="Stripe webhook: payment and subscription events as track events")
async def stripe_webhook(request: Request) -> dict:
    svc = services(request)
    payload = await read_capped(request, svc.settings.max_batch_bytes)
    event = await run_in_threadpool(
        stripe_source.verify,
        payload,
        request.headers.get("stripe-signature"),
        svc.settings.stripe_webhook_secret,
        svc.settings.stripe_tolerance_seconds,
    )
    message, ignored = stripe_source.to_message(event, svc.settings.suppression_salt)
    if message is None:
        # 2xx all the same: Stripe would otherwise redeliver an event we will never map.
        return {"received": True, "ignored": ignored}
    prepared = svc.ingest.single(message, "track", SOURCE)
    result = await svc.writer.submit(prepared)
    return {
        "received": True,
        "messageId": message["messageId"],
        "duplicate": message["messageId"] in set(result.duplicate_ids),
    }
