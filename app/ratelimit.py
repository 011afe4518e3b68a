"""Per-write-key ingest rate limit: a token bucket in Redis counted in messages (a batch of 100
costs 100), shared by every API process. Over the limit: 429 with Retry-After, which the Segment
and RudderStack SDKs honour by backing off and retrying.

A process takes a few tokens ahead when the bucket has them (a lease, at most 2% of the burst and
a twentieth of a second's worth) and serves the next requests of that key from it without asking
Redis: at 500 requests/s the Redis call per request was a fifth of the API's CPU. Leased tokens
come out of the shared bucket, so no process can pass more than the limit; tokens a lease does not
use within LEASE_SECONDS are dropped, which errs on the strict side by at most a lease per process.
With a small limit the lease is zero and every request asks Redis."""
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

# KEYS[1] bucket hash; ARGV rate/s, burst, cost, ahead. Returns {ms until `cost` tokens exist (0:
# taken), tokens taken ahead of need (up to `ahead`, only with the cost, only whole ones there)}.
# Atomic in Redis, on Redis's clock, so every API process shares one bucket per key and agrees on time.
_TAKE = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local rate, burst, cost, ahead = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or burst
local ts = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000)
local wait, extra = 0, 0
if tokens >= cost then
  tokens = tokens - cost
  extra = math.max(0, math.min(ahead, math.floor(tokens)))
  tokens = tokens - extra
else
  wait = math.ceil((cost - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {wait, extra}
"""

# How long leased tokens stay usable; unused ones are dropped after it.
LEASE_SECONDS = 1.0


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


def _bucket_of(key: str) -> str:
    return "cdp:ingest:rate:" + hashlib.sha256(key.encode()).hexdigest()[:32]  # no key in clear in Redis


def message_count(body: Any) -> int:
    items = body.get("batch") if isinstance(body, dict) else None
    return len(items) if isinstance(items, list) else 1


class IngestRateLimit:
    def __init__(self, client: redis.asyncio.Redis, per_second: float, burst: int, skip_seconds: float = 5.0,
                 clock=time.monotonic):
        self.client = client
        self.per_second = per_second
        self.burst = max(1, burst)
        self.skip_seconds = skip_seconds
        # Tokens taken ahead per Redis call: none for small limits, where every request asks.
        self.lease_tokens = int(min(self.burst * 0.02, per_second / 20))
        self._clock = clock
        self._take = client.register_script(_TAKE)
        self._skip_until = 0.0
        self._leases: dict[str, tuple[float, float]] = {}  # bucket -> (tokens left, usable until)

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
        if self._clock() < self._skip_until:
            return
        key = write_key_of(authorization, body)
        bucket = _bucket_of(key)
        cost = min(message_count(body), self.burst)
        if self._from_lease(bucket, cost):
            return
        try:
            wait_ms, extra = map(int, await self._take(keys=[bucket], args=[self.per_second, self.burst, cost,
                                                                         self.lease_tokens]))
        except (redis.RedisError, OSError) as exc:
            # Fail open: a Redis blink must not stop ingest, which needs only Neo4j. The limit is
            # off until Redis answers again; one warning per skip window, not one per request, even
            # when the requests in flight all fail at once. A timeout is also what a saturated
            # process sees with Redis up, so the line says which it was.
            now = self._clock()
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
        if extra:  # requests that asked Redis together each bring a lease back: they add up
            now = self._clock()
            held, until = self._leases.get(bucket, (0, now))
            self._leases[bucket] = (extra + (held if until > now else 0), now + LEASE_SECONDS)

    def _from_lease(self, bucket: str, cost: int) -> bool:
        """Takes `cost` from this process's lease on the bucket if it holds that many, in time."""
        lease = self._leases.get(bucket)
        if lease is None:
            return False
        tokens, until = lease
        if self._clock() >= until or tokens < cost:
            del self._leases[bucket]  # spent or stale: the next call to Redis may lease afresh
            return False
        self._leases[bucket] = (tokens - cost, until)
        return True

    async def close(self) -> None:
        await self.client.aclose()


def install(app: FastAPI) -> None:
    @app.exception_handler(RateLimited)
    async def _rate_limited(_: Request, exc: RateLimited):
        metrics.REJECTED.labels("429").inc()
        body = {**error_body([FieldError("writeKey", exc.reason, 429)], 429), "code": "rate_limited"}
        return JSONBody(body, status_code=429, headers={"Retry-After": str(exc.retry_after)})
