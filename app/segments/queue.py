"""Which profiles need segment upkeep: a Redis sorted set that ingest fills and a worker drains.

Why a set rather than one Celery task per commit: under load the same profiles are touched by
many batches, and a set coalesces them, so the worker evaluates each profile once per drain in
large transactions; the hook on the ingest path is one Redis round trip (no task per commit).

- mark(): ZADD the ids with a fresh score (a counter), and trigger a drain task unless one is
  already scheduled (a flag with a TTL, so a lost task is re-triggered by later marks).
- drain(): read the oldest ids, evaluate them, then remove each id only if its score did not
  change meanwhile (re-touched while being evaluated: it stays for the next round). Nothing is
  removed before it is evaluated, so a crashed worker loses nothing; running two drains at once
  only repeats work (upkeep is idempotent).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

import redis

from app.identity.store import IngestResult
from app.ingest.retained import RetainedIds

log = logging.getLogger("cdp.segments")

DIRTY_KEY = "cdp:segments:dirty"
COUNTER_KEY = "cdp:segments:dirty-seq"
SCHEDULED_KEY = "cdp:segments:drain-scheduled"
DRAIN_TASK = "workers.segments.drain"

_MARK = """
local score = redis.call('INCR', KEYS[2])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], score, ARGV[i]) end
if redis.call('SET', KEYS[3], '1', 'NX', 'EX', ARGV[1]) then return 1 end
return 0
"""
_DONE = """
local n = 0
for i = 1, #ARGV, 2 do
  local s = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if s and tonumber(s) <= tonumber(ARGV[i + 1]) then redis.call('ZREM', KEYS[1], ARGV[i]); n = n + 1 end
end
return n
"""


def celery_trigger(redis_url: str) -> Callable[[], None]:
    """Send the drain task through a producer on this broker (the API has no worker of its own)."""
    from celery import Celery

    producer = Celery("cdp", broker=redis_url)

    def trigger() -> None:
        producer.send_task(DRAIN_TASK)

    return trigger


class UpkeepQueue:
    def __init__(self, client: redis.Redis, trigger: Callable[[], None] | None = None,
                 scheduled_ttl: int = 30):
        self.client = client
        self.trigger = trigger
        self.ttl = scheduled_ttl
        self._mark = client.register_script(_MARK)
        self._done = client.register_script(_DONE)
        self.retained = RetainedIds()  # what on_commit could not queue while Redis was away

    @classmethod
    def from_url(cls, url: str, trigger: Callable[[], None] | None = None) -> UpkeepQueue:
        # Short timeouts: the hook runs on the ingest path, and upkeep can catch up later.
        client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        return cls(client, trigger)

    def mark(self, profile_ids: Iterable[str]) -> bool:
        """Queue these profiles; True when this call scheduled a drain."""
        ids = sorted(set(profile_ids))
        if not ids:
            return False
        scheduled = bool(self._mark(keys=[DIRTY_KEY, COUNTER_KEY, SCHEDULED_KEY], args=[self.ttl, *ids]))
        if scheduled and self.trigger is not None:
            self.trigger()
        return scheduled

    def on_commit(self, result: IngestResult) -> None:
        """Writer hook: the batch's touched profiles, and both sides of its merges (and any a failed
        call kept)."""
        self.retained.send(result.touched_profiles | set(result.retired) | set(result.retired.values()), self.mark)

    def pending(self) -> int:
        return self.client.zcard(DIRTY_KEY)

    def drain(self, process: Callable[[list[str]], object], chunk: int = 500) -> int:
        """Evaluate queued profiles until none are left; returns how many ids were processed."""
        total = 0
        while True:
            rows = self.client.zrange(DIRTY_KEY, 0, chunk - 1, withscores=True)
            if not rows:
                self.client.delete(SCHEDULED_KEY)
                # A mark between our read and the delete saw the flag and sent no task: take it on.
                if self.client.zcard(DIRTY_KEY) and self.client.set(SCHEDULED_KEY, 1, nx=True, ex=self.ttl):
                    continue
                return total
            self.client.set(SCHEDULED_KEY, 1, ex=self.ttl)  # still draining: marks need not trigger
            ids = [member.decode() for member, _ in rows]
            process(ids)
            self._done(keys=[DIRTY_KEY], args=[x for member, score in rows for x in (member, score)])
            total += len(ids)
