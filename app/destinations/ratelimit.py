"""Per-destination rate limits (a token bucket in Redis, shared by every worker), the pause a 429
imposes on all of them, and the per-sync lock that keeps one run of a sync going at a time."""

from __future__ import annotations

import secrets
import time

import redis

from app.destinations.retry import Deferred

# KEYS[1] bucket hash, KEYS[2] pause key; ARGV rate/s, burst. Returns ms to wait (0: token taken).
# Redis's own clock, so workers on different hosts agree.
_TAKE = """
local paused = redis.call('PTTL', KEYS[2])
if paused > 0 then return paused end
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or burst
local ts = tonumber(b[2]) or now
tokens = math.min(burst, tokens + (now - ts) * rate / 1000)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) * 1000 / rate) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 60000)
return wait
"""
_REFRESH = (
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0"
)
_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


class TokenBucket:
    def __init__(
        self,
        client: redis.Redis,
        destination_id: str,
        per_second: float,
        burst: int | None,
        max_inline_wait: float,
    ):
        self.client = client
        self.keys = [f"cdp:dest:{destination_id}:bucket", f"cdp:dest:{destination_id}:pause"]
        self.rate = per_second
        self.burst = burst or max(1, int(per_second))
        self.max_inline_wait = max_inline_wait
        self._take = client.register_script(_TAKE)

    def take(self) -> None:
        """Block until a request may go out; a wait longer than the inline limit defers the run."""
        while True:
            wait_ms = int(self._take(keys=self.keys, args=[self.rate, self.burst]))
            if wait_ms <= 0:
                return
            if wait_ms / 1000 > self.max_inline_wait:
                raise Deferred("destination paused or over its rate limit", wait_ms / 1000)
            time.sleep(wait_ms / 1000)  # the rate limit itself: wait for the next token

    def pause(self, seconds: float) -> None:
        """A 429's Retry-After holds every worker of this destination, not just the one that saw it."""
        if seconds > 0:
            self.client.set(self.keys[1], "1", px=max(1, int(seconds * 1000)))


class SyncLock:
    """One run of a sync at a time, across workers; expires if its holder dies."""

    def __init__(self, client: redis.Redis, sync_id: str, ttl_seconds: float):
        self.client = client
        self.key = f"cdp:sync:{sync_id}:lock"
        self.ttl_ms = int(ttl_seconds * 1000)
        self.token = secrets.token_hex(8)

    def acquire(self) -> bool:
        return bool(self.client.set(self.key, self.token, nx=True, px=self.ttl_ms))

    def refresh(self) -> bool:
        return bool(self.client.eval(_REFRESH, 1, self.key, self.token, self.ttl_ms))

    def release(self) -> None:
        self.client.eval(_RELEASE, 1, self.key, self.token)

    def held(self) -> bool:
        return bool(self.client.exists(self.key))
