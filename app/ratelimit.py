"""Per-write-key ingest rate limit: a token bucket in Redis counted in messages (a batch of 100
costs 100), shared by every API process. Over the limit: 429 with Retry-After, which the Segment
and RudderStack SDKs honour by backing off and retrying."""
from __future__ import annotations

import hashlib
import logging
import math
import time
from typing import Any

import redis
import redis.asyncio
from fastapi import FastAPI, Request

from app import metrics
from app.auth import basic_username
from app.errors import error_body
from app.ingest.messages import FieldError
from app.responses import JSONBody
from app.settings import Settings

log = logging.getLogger("cdp.ratelimit")

# KEYS[1] bucket hash; ARGV rate/s, burst, cost. Returns ms until `cost` tokens exist (0: taken).
# Atomic in Redis, on Redis's clock, so every API process shares one bucket per key and agrees on time.
_TAKE = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local rate, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or burst
local ts = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000)
local wait = 0
if tokens >= cost then tokens = tokens - cost else wait = math.ceil((cost - tokens) * 1000 / rate) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return wait
"""


class RateLimited(Exception):
    def __init__(self, retry_after: float, per_second: float):
        super().__init__("rate limited")
        self.retry_after = max(1, math.ceil(retry_after))  # Retry-After is whole seconds
        self.reason = f"this write key is over its rate limit of {per_second:g} messages/s; retry later"


def write_key_of(authorization: str | None, body: Any) -> str:
    """The key the request authenticated with (Basic username, else the body's writeKey)."""
    key = basic_username(authorization)
    if not key and isinstance(body, dict) and isinstance(body.get("writeKey"), str):
        key = body["writeKey"]
    return key or ""


def message_count(body: Any) -> int:
    items = body.get("batch") if isinstance(body, dict) else None
    return len(items) if isinstance(items, list) else 1


class IngestRateLimit:
    def __init__(self, client: redis.asyncio.Redis, per_second: float, burst: int, skip_seconds: float = 5.0):
        self.client = client
        self.per_second = per_second
        self.burst = max(1, burst)
        self.skip_seconds = skip_seconds
        self._take = client.register_script(_TAKE)
        self._skip_until = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> IngestRateLimit | None:
        if settings.ingest_rate_per_second <= 0:
            return None
        # Short timeouts: this sits on every ingest request's path.
        # A small blocking pool: under a burst, requests wait briefly for one of a few warm connections
        # instead of each opening its own (the default pool's 100-then-error made p99 ten times worse).
        pool = redis.asyncio.BlockingConnectionPool.from_url(
            settings.redis_url, max_connections=16, timeout=0.25, socket_timeout=0.25, socket_connect_timeout=0.25)
        client = redis.asyncio.Redis(connection_pool=pool)
        return cls(client, settings.ingest_rate_per_second, settings.ingest_rate_burst)

    async def check(self, authorization: str | None, body: Any) -> None:
        """Raises RateLimited when the key's bucket lacks the request's messages. A batch larger
        than the burst costs the whole burst, so it can pass once the bucket is full."""
        if time.monotonic() < self._skip_until:
            return
        key = write_key_of(authorization, body)
        bucket = "cdp:ingest:rate:" + hashlib.sha256(key.encode()).hexdigest()[:32]  # no key in clear in Redis
        cost = min(message_count(body), self.burst)
        try:
            wait_ms = int(await self._take(keys=[bucket], args=[self.per_second, self.burst, cost]))
        except (redis.RedisError, OSError) as exc:
            # Fail open: a Redis blink must not stop ingest, which needs only Neo4j. The limit is
            # off until Redis answers again; one warning per skip window, not one per request, even
            # when the requests in flight all fail at once. A timeout is also what a saturated
            # process sees with Redis up, so the line says which it was.
            now = time.monotonic()
            if now < self._skip_until:
                return
            self._skip_until = now + self.skip_seconds
            timed_out = isinstance(exc, (redis.TimeoutError, TimeoutError)) or "No connection available" in str(exc)
            log.warning("rate limit unavailable (Redis %s); ingest continues unlimited",
                        "did not answer in time" if timed_out else "unreachable",
                        extra={"fields": {"key": key, "error": type(exc).__name__,
                                          "retry_in_seconds": self.skip_seconds}})
            return
        if wait_ms > 0:
            raise RateLimited(wait_ms / 1000, self.per_second)

    async def close(self) -> None:
        await self.client.aclose()


def install(app: FastAPI) -> None:
    @app.exception_handler(RateLimited)
    async def _rate_limited(_: Request, exc: RateLimited):
        metrics.REJECTED.labels("429").inc()
        body = {**error_body([FieldError("writeKey", exc.reason, 429)], 429), "code": "rate_limited"}
        return JSONBody(body, status_code=429, headers={"Retry-After": str(exc.retry_after)})
