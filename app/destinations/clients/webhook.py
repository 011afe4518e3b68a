"""Generic webhook: JSON batches, signed with HMAC-SHA256.

Headers: `X-CDP-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>` (the
timestamp is signed too, so a captured request cannot be replayed later with a fresh one), and
`X-CDP-Batch-Id`, stable across retries of the same batch, for the receiver to drop duplicates.
"""

from __future__ import annotations

import hashlib
import hmac
import time

import httpx
import orjson

from app.destinations.clients import Caller, DestinationClient, Failures
from app.destinations.mapping import Member
from app.destinations.retry import Permanent, Retryable, retry_after_seconds

BATCH_LIMIT = 500
SIGNATURE_HEADER = "X-CDP-Signature"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """What a receiver does (and the tests): recompute, compare in constant time, refuse stale ones."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        ts = int(parts["t"])
    except (ValueError, KeyError):
        return False
    expected = sign(secret, ts, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", "")) and abs(time.time() - ts) <= tolerance


class WebhookClient(DestinationClient):
    max_batch = BATCH_LIMIT

    def __init__(self, config: dict, secrets: dict, caller: Caller, context: dict):
        self.url = config["url"]
        self.extra_headers = dict(config.get("headers") or {})
        self.secret = secrets["signingSecret"]
        self.context = context
        self.caller = caller
        self.http = httpx.Client(timeout=30)

    def addressable(self, member: Member) -> bool:
        return True  # the receiver gets the profile id whatever else is mapped

    def _post(self, action: str, members: list[Member]) -> Failures:
        # The same members in the same run and action always make the same id: a re-sent batch is
        # recognisable as one.
        ids = sorted(m.profile_id for m in members)
        batch_id = hashlib.sha256(orjson.dumps([self.context.get("runId"), action, ids])).hexdigest()[:32]
        body = orjson.dumps(
            {
                "type": f"segment.members.{action}",
                "batchId": batch_id,
                "syncId": self.context.get("syncId"),
                "runId": self.context.get("runId"),
                "segmentId": self.context.get("segmentId"),
                "members": [{"profileId": m.profile_id, **m.fields, **({"erased": True} if m.erased else {})}
                            for m in members],
            },
            default=str,
        )

        def attempt() -> None:
            ts = int(time.time())
            headers = {
                **self.extra_headers,
                "Content-Type": "application/json",
                "X-CDP-Batch-Id": batch_id,
                SIGNATURE_HEADER: sign(self.secret, ts, body),
            }
            try:
                resp = self.http.post(self.url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                raise Retryable(f"webhook: {type(exc).__name__}: {exc}") from exc
            if resp.status_code == 429:
                raise Retryable(
                    "webhook 429", retry_after_seconds(resp.headers.get("retry-after")), rate_limited=True
                )
            if resp.status_code >= 500 or resp.status_code == 408:
                raise Retryable(
                    f"webhook {resp.status_code}", retry_after_seconds(resp.headers.get("retry-after"))
                )
            if resp.status_code >= 400:
                raise Permanent(
                    f"webhook {resp.status_code}: {resp.text[:300]}",
                    fatal=resp.status_code in (401, 403, 404, 410),
                )

        self.caller.call(attempt)
        return []

    def add(self, members: list[Member]) -> Failures:
        return self._post("added", members)

    def update(self, members: list[Member]) -> Failures:
        return self._post("updated", members)

    def remove(self, members: list[Member]) -> Failures:
        return self._post("removed", members)

    def close(self) -> None:
        self.http.close()
