"""Per-write-key ingest rate limit: a token bucket in Redis counted in messages (a batch of 100
costs 100), shared by every API process. Over the limit: 429 with Retry-After, which the Segment
and RudderStack SDKs honour by backing off and retrying.

A busy key is served from leases: when a process asks Redis it also takes, if the bucket has them,
as many tokens ahead as the key used in this process over the last LEASE_SECONDS (at most 2% of the
burst and a twentieth of a second of the rate), and the key's next requests spend those without a
Redis call: at 500 requests/s a call per request was a large share of the API's CPU. Leased
tokens come out of the shared bucket, so processes together never pass more than the limit; a lease unused
after LEASE_SECONDS is dropped, so the limit errs strict by at most a process's own recent demand.
A quiet key leases nothing, and with a small limit every request asks Redis."""
from __future__ import annotations

import hashlib
import logging
import math
import time
from typing import Any

import redis
import redis.asyncio
from fastapi import FastAPI, Request

from app.auth import basic_username
from app.errors import count_rejection, error_body
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

# The window a lease is sized from (the key's demand in this process) and how long it stays usable.
LEASE_SECONDS = 0.25


class _Lease:
    """One process's tokens ahead for one bucket, and the key's recent demand in this process."""

    __slots__ = ("tokens", "until", "window_start", "used", "previous", "leasing")

    def __init__(self, now: float):
        self.leasing = False  # a call asking for tokens ahead is in flight: others ask for their cost only
        self.tokens = 0
        self.until = now
        self.window_start = now
        self.used = 0  # messages passed in the current window
        self.previous = 0  # ... and in the window before it

    def demand(self, now: float) -> int:
        """Messages this key passed here over about the last LEASE_SECONDS."""
        if now - self.window_start >= LEASE_SECONDS:
            self.previous = self.used if now - self.window_start < 2 * LEASE_SECONDS else 0
            self.used, self.window_start = 0, now
        return max(self.previous, self.used)

    def held(self, now: float) -> int:
        if now >= self.until:
            self.tokens = 0
        return self.tokens


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
        self._leases: dict[str, _Lease] = {}  # one per write key this process has seen

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
        now = self._clock()
        if now < self._skip_until:
            return
        key = write_key_of(authorization, body)
        bucket = _bucket_of(key)
        cost = min(message_count(body), self.burst)
        lease = self._leases.get(bucket)
        if lease is None:
            lease = self._leases[bucket] = _Lease(now)
        ahead = 0 if lease.leasing else min(self.lease_tokens, lease.demand(now))
        held = lease.held(now)
        if held >= cost:
            lease.tokens -= cost
            lease.used += cost
            return
        # Spend what is held and ask Redis for the rest (plus a lease). The held tokens are taken off
        # the lease before the call, so requests running meanwhile cannot spend them twice.
        lease.tokens = 0
        if ahead:
            lease.leasing = True
        try:
            answer = await self._ask(key, bucket, cost - held, ahead)
        finally:
            if ahead:
                lease.leasing = False
        if answer is None:
            return  # Redis away: fail open
        wait_ms, extra = answer
        now = self._clock()
        if wait_ms > 0:
            if now < lease.until:  # refused: the held tokens go back for a smaller request
                lease.tokens = min(self.lease_tokens, lease.tokens + held)
            raise RateLimited(wait_ms / 1000, self.per_second)
        lease.used += cost
        if extra:  # only one request at a time asks ahead, so nothing is held now; capped all the same
            lease.tokens = min(self.lease_tokens, lease.held(now) + extra)
            lease.until = now + LEASE_SECONDS

    async def _ask(self, key: str, bucket: str, need: int, ahead: int) -> tuple[int, int] | None:
        """(ms to wait, tokens leased) from Redis; None when Redis cannot answer."""
        try:
            wait_ms, extra = await self._take(keys=[bucket], args=[self.per_second, self.burst, need, ahead])
            return int(wait_ms), int(extra)
        except (redis.RedisError, OSError) as exc:
            # Fail open: a Redis blink must not stop ingest, which needs only Neo4j. The limit is
            # off until Redis answers again; one warning per skip window, not one per request, even
            # when the requests in flight all fail at once. A timeout is also what a saturated
            # process sees with Redis up, so the line says which it was.
            now = self._clock()
            if now < self._skip_until:
                return None
            self._skip_until = now + self.skip_seconds
            timed_out = isinstance(exc, (redis.TimeoutError, TimeoutError)) or "No connection available" in str(exc)
            log.warning("rate limit unavailable (Redis %s); ingest continues unlimited",
                        "did not answer in time" if timed_out else "unreachable",
                        extra={"fields": {"key": key, "error": type(exc).__name__,
                                          "retry_in_seconds": self.skip_seconds}})
            return None

    async def close(self) -> None:
        await self.client.aclose()


def install(app: FastAPI) -> None:
    @app.exception_handler(RateLimited)
    async def _rate_limited(request: Request, exc: RateLimited):
        count_rejection(request, 429)
        body = error_body([FieldError("writeKey", exc.reason, 429)], 429)
        return JSONBody(body, status_code=429, headers={"Retry-After": str(exc.retry_after)})
