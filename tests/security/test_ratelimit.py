"""Per-write-key rate limit in messages: 429 with Retry-After and a body naming writeKey, a bucket
per key, recovery once Retry-After has passed, and ingest that goes on when Redis is unreachable."""
from __future__ import annotations

import time

import orjson
import redis.asyncio

from app.ratelimit import IngestRateLimit
from tests.helpers import basic, count, new_id, run_on_own_thread
from tests.security.conftest import captured_logs


def _track(n: int = 1) -> list[dict]:
    return [{"type": "track", "userId": new_id("u"), "event": "Rate", "messageId": new_id()} for _ in range(n)]


def _keys(*names: str) -> dict:
    return {name: "web" for name in names}  # fresh keys per test: fresh buckets in the shared Redis


def test_a_batch_costs_its_messages_and_over_the_limit_is_a_429(app_with, clean_db):
    key, other = new_id("rl-key"), new_id("rl-other")
    # One token per 10 s: nothing refills while the test runs.
    client = app_with(write_keys=_keys(key, other), ingest_rate_per_second=0.1, ingest_rate_burst=5)

    assert client.post("/v1/batch", json={"batch": _track(3)}, headers=basic(key)).status_code == 200
    refused = client.post("/v1/batch", json={"batch": _track(3)}, headers=basic(key))
    assert client.post("/v1/track", json=_track()[0], headers=basic(key)).status_code == 200
    body_key = client.post("/v1/track", json={**_track()[0], "writeKey": key})  # the body's key, same bucket
    last = client.post("/v1/track", json=_track()[0], headers=basic(key))

    assert refused.status_code == 429 and body_key.status_code == 200 and last.status_code == 429
    assert 5 <= int(refused.headers["Retry-After"]) <= 10  # under 1 token missing, at 0.1/s
    err = refused.json()
    assert err["success"] is False and err["field"] == "writeKey" and err["code"] == "rate_limited"
    assert err["errors"] == [{"field": "writeKey", "reason": err["error"]}]
    # Refused messages are not stored; another key has its own bucket.
    assert count(clean_db, "MATCH (e:Event) RETURN count(e)") == 5
    assert client.post("/v1/track", json=_track()[0], headers=basic(other)).status_code == 200


def test_after_retry_after_the_key_is_served_again(app_with):
    key = new_id("rl-key")
    client = app_with(write_keys=_keys(key), ingest_rate_per_second=5, ingest_rate_burst=2)
    assert client.post("/v1/batch", json={"batch": _track(2)}, headers=basic(key)).status_code == 200
    refused = client.post("/v1/track", json=_track()[0], headers=basic(key))
    assert refused.status_code == 429

    time.sleep(int(refused.headers["Retry-After"]))  # what a client is told to do, not a race fix

    assert client.post("/v1/track", json=_track()[0], headers=basic(key)).status_code == 200


def test_a_batch_larger_than_the_burst_passes_on_a_full_bucket(app_with):
    key = new_id("rl-key")
    client = app_with(write_keys=_keys(key), ingest_rate_per_second=0.1, ingest_rate_burst=2)
    assert client.post("/v1/batch", json={"batch": _track(4)}, headers=basic(key)).status_code == 200
    assert client.post("/v1/track", json=_track()[0], headers=basic(key)).status_code == 429


def test_an_unknown_key_is_a_401_not_a_bucket(app_with):
    client = app_with(ingest_rate_per_second=0.1, ingest_rate_burst=1)
    for _ in range(3):
        assert client.post("/v1/track", json=_track()[0], headers=basic("no-such-key")).status_code == 401


def test_ingest_goes_on_when_redis_is_unreachable(app_with, clean_db):
    key = new_id("rl-key")
    client = app_with(write_keys=_keys(key), ingest_rate_per_second=0.1, ingest_rate_burst=1)
    # A socket nothing listens on: the limiter's Redis is down; the app's other Redis stays up.
    down = redis.asyncio.Redis(unix_socket_path=f"/nonexistent/{key}.sock", socket_connect_timeout=0.25)
    client.app.state.services.rate_limit = IngestRateLimit(down, 0.1, 1)

    with captured_logs() as out:
        answers = [client.post("/v1/track", json=_track()[0], headers={**basic(key), "x-request-id": f"rid-{i}"})
                   for i in range(3)]

    assert [r.status_code for r in answers] == [200, 200, 200]  # fail open: over the limit, yet stored
    assert count(clean_db, "MATCH (e:Event) RETURN count(e)") == 3
    warnings = [line for line in map(orjson.loads, out.getvalue().splitlines())
                if line["logger"] == "cdp.ratelimit"]
    assert len(warnings) == 1  # once per skip window, not once per request
    assert warnings[0]["level"] == "warning" and warnings[0]["request_id"] == "rid-0"
    assert warnings[0]["key"].startswith("sha256:") and key not in out.getvalue()


def test_requests_in_flight_that_time_out_together_log_one_warning():
    # A Redis that accepts connections and never answers: what a saturated process or a stalled
    # Redis looks like. Every check in flight times out at about the same moment.
    import asyncio
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)
    port = silent.getsockname()[1]

    async def checks() -> None:
        client = redis.asyncio.Redis(host="127.0.0.1", port=port, socket_timeout=0.3, socket_connect_timeout=0.3)
        limiter = IngestRateLimit(client, 0.1, 1)
        await asyncio.gather(*[limiter.check(None, {"writeKey": "k", "type": "track"}) for _ in range(5)])
        await limiter.close()

    try:
        with captured_logs() as out:
            run_on_own_thread(checks)  # all five pass: fail open
    finally:
        silent.close()
    warnings = [line for line in map(orjson.loads, out.getvalue().splitlines()) if line["logger"] == "cdp.ratelimit"]
    assert len(warnings) == 1
    assert "did not answer in time" in warnings[0]["msg"]


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _counting(limiter: IngestRateLimit) -> list[tuple[int, int]]:
    """Records the limiter's calls to Redis: (tokens asked for beyond the cost, tokens given ahead)."""
    calls: list[tuple[int, int]] = []
    take = limiter._take

    async def counted(**kwargs):
        wait_ms, extra = await take(**kwargs)
        calls.append((int(kwargs["args"][3]), int(extra)))
        return wait_ms, extra

    limiter._take = counted
    return calls


def _clocked(settings) -> tuple[IngestRateLimit, _Clock, list[tuple[int, int]]]:
    """A limiter at 100 messages/s, burst 500 (a lease of 5), on a clock the test moves, counting
    its Redis calls."""
    clock = _Clock()
    limiter = IngestRateLimit(redis.asyncio.Redis.from_url(settings.redis_url), 100, 500, clock=clock)
    return limiter, clock, _counting(limiter)


def test_a_busy_key_is_served_mostly_from_leases(settings):
    """Requests of one key in quick succession: after the first few, most are served from tokens the
    process leased with an earlier call, as many as the key's recent demand (at most the lease size)."""
    key = {"writeKey": new_id("rl-busy"), "type": "track"}
    seen: dict = {}

    async def checks() -> None:
        limiter, clock, calls = _clocked(settings)
        seen["lease_tokens"] = limiter.lease_tokens
        for _ in range(40):
            await limiter.check(None, key)
            clock.now += 0.001
        seen["calls"] = list(calls)
        await limiter.close()

    run_on_own_thread(checks)
    assert seen["lease_tokens"] == 5  # a twentieth of a second at 100/s; 2% of the burst would be 10
    calls = seen["calls"]
    assert calls[0] == (0, 0)  # no demand seen yet: nothing ahead
    assert max(extra for _, extra in calls) == 5  # then leases grow with demand, up to the lease size
    assert len(calls) <= 40 // 6 + 3  # once full, one call serves six requests


def test_a_quiet_key_takes_nothing_ahead_and_a_lease_expires(settings):
    key = {"writeKey": new_id("rl-quiet"), "type": "track"}
    seen: dict = {}

    async def checks() -> None:
        limiter, clock, calls = _clocked(settings)
        for _ in range(3):  # one request a second: no demand to lease for
            await limiter.check(None, key)
            clock.now += 1.0
        seen["quiet"] = list(calls)
        for _ in range(4):  # a burst builds a lease...
            await limiter.check(None, key)
        before = len(calls)
        clock.now += 0.3  # ...which is dropped once LEASE_SECONDS have passed
        await limiter.check(None, key)
        seen["after_expiry"] = len(calls) - before
        await limiter.close()

    run_on_own_thread(checks)
    assert seen["quiet"] == [(0, 0)] * 3
    assert seen["after_expiry"] == 1


def test_small_limits_lease_nothing_and_ask_redis_every_time(settings):
    limiter = IngestRateLimit(redis.asyncio.Redis.from_url(settings.redis_url), 10, 100)
    assert limiter.lease_tokens == 0  # half a token per twentieth of a second rounds down


def test_leases_never_let_processes_pass_more_than_the_bucket(settings):
    """Two limiters (two API processes) on one key, each with requests in flight together: leased
    tokens come out of the shared bucket, so together they pass at most the burst plus what refilled
    meanwhile, and no more than a lease each is lost to leases."""
    import asyncio

    key = {"writeKey": new_id("rl-shared"), "type": "track"}
    result: dict = {}

    async def run() -> None:
        limiters = [IngestRateLimit(redis.asyncio.Redis.from_url(settings.redis_url), 100, 500)
                    for _ in range(2)]
        outcomes: list[bool] = []

        async def one(limiter: IngestRateLimit) -> None:
            try:
                await limiter.check(None, key)
                outcomes.append(True)
            except Exception as exc:  # noqa: BLE001 - only RateLimited is expected
                assert type(exc).__name__ == "RateLimited", exc
                outcomes.append(False)

        started = time.monotonic()
        while outcomes.count(False) < 20:
            await asyncio.gather(*[one(limiters[n % 2]) for n in range(10)])
        result.update(passed=outcomes.count(True), seconds=time.monotonic() - started,
                      lease=limiters[0].lease_tokens)
        for limiter in limiters:
            await limiter.close()

    run_on_own_thread(run)
    refilled = 100 * result["seconds"]
    assert result["passed"] <= 500 + refilled + 1
    assert result["passed"] >= 500 - 2 * result["lease"]
