"""Token bucket in Redis, Retry-After pauses, backoff with jitter, the per-sync lock, sealed secrets."""

import time
from email.utils import formatdate

import pytest

from app.destinations.ratelimit import SyncLock, TokenBucket
from app.destinations.retry import Deferred, Retryable, RetryPolicy, retry_after_seconds
from app.destinations.secrets import SecretBox, mask


def test_token_bucket_bounds_the_request_rate(redis_client):
    bucket = TokenBucket(redis_client, "d1", per_second=50, burst=5, max_inline_wait=5)
    started = time.monotonic()
    for _ in range(55):
        bucket.take()
    elapsed = time.monotonic() - started
    # 5 from the burst, 50 more at 50/s: about a second, never much faster.
    assert 0.9 <= elapsed < 3.0, elapsed


def test_buckets_are_per_destination_and_shared_by_workers(redis_client):
    a1 = TokenBucket(redis_client, "a", per_second=1, burst=2, max_inline_wait=0)
    a2 = TokenBucket(redis_client, "a", per_second=1, burst=2, max_inline_wait=0)  # another worker
    b = TokenBucket(redis_client, "b", per_second=1, burst=2, max_inline_wait=0)
    a1.take()
    a2.take()
    with pytest.raises(Deferred):
        a1.take()  # the bucket is empty for every worker of destination a
    b.take()  # b has its own


def test_a_429_pause_holds_every_worker_of_the_destination(redis_client):
    bucket = TokenBucket(redis_client, "d2", per_second=100, burst=100, max_inline_wait=1)
    bucket.pause(30)
    with pytest.raises(Deferred) as exc:
        TokenBucket(redis_client, "d2", per_second=100, burst=100, max_inline_wait=1).take()
    assert 25 < exc.value.delay <= 30
    TokenBucket(redis_client, "other", per_second=100, burst=100, max_inline_wait=1).take()


def test_retry_after_forms():
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("0.5") == 0.5
    assert 58 <= retry_after_seconds(formatdate(time.time() + 60, usegmt=True)) <= 61
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_backoff_is_exponential_with_full_jitter_and_capped():
    policy = RetryPolicy(max_attempts=5, base=0.5, cap=4.0, max_inline_wait=10)
    for attempt in range(8):
        samples = [policy.backoff(attempt) for _ in range(200)]
        assert all(0 <= s <= min(4.0, 0.5 * 2**attempt) for s in samples)
        assert len({round(s, 6) for s in samples}) > 100  # jittered, not a fixed schedule


def test_retries_then_succeeds_and_long_waits_defer():
    calls, paused = [], []
    policy = RetryPolicy(max_attempts=4, base=0.001, cap=0.002, max_inline_wait=1)

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise Retryable("503")
        return "ok"

    assert policy.call(flaky, lambda: None, paused.append) == "ok" and len(calls) == 3

    def limited():
        raise Retryable("429", retry_after=30, rate_limited=True)

    with pytest.raises(Deferred) as exc:
        policy.call(limited, lambda: None, paused.append)
    assert exc.value.delay == 30 and paused == [30]

    with pytest.raises(Deferred):  # out of attempts: handed back to the queue, not failed on the spot
        policy.call(lambda: (_ for _ in ()).throw(Retryable("down")), lambda: None, paused.append)


def test_sync_lock_is_exclusive_and_expires(redis_client):
    one, two = SyncLock(redis_client, "s", 0.3), SyncLock(redis_client, "s", 0.3)
    assert one.acquire() and not two.acquire()
    two.release()  # not its lock: no effect
    assert one.held() and one.refresh()
    deadline = time.monotonic() + 3
    while one.held() and time.monotonic() < deadline:
        time.sleep(0.02)  # polling the TTL's expiry with a deadline
    assert two.acquire() and not one.refresh()


def test_secrets_are_sealed_and_masked():
    box = SecretBox("k1")
    sealed = box.seal({"apiKey": "re_live_abcdefgh1234"})
    assert "abcdefgh" not in sealed and box.open(sealed) == {"apiKey": "re_live_abcdefgh1234"}
    with pytest.raises(ValueError):
        SecretBox("k2").open(sealed)
    assert mask("re_live_abcdefgh1234") == "****1234" and mask("short") == "****"
