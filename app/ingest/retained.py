"""Profile ids a post-commit hook could not hand to Redis, kept in memory and sent with its next
call: the data is committed either way, and without this the profiles touched while Redis was
away would wait for the hourly reconcile (segments) or never be pushed (trait changes)."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

import redis

log = logging.getLogger("cdp.ingest")

# Ids kept at most (tens of bytes each); past it the rest are left to the reconcile.
RETAINED_LIMIT = 100_000
# Ids per call once Redis is back: a long outage's backlog goes in calls of ordinary size.
SEND_CHUNK = 5_000


class RetainedIds:
    def __init__(self, limit: int = RETAINED_LIMIT, chunk: int = SEND_CHUNK):
        self.limit = limit
        self.chunk = chunk
        self._ids: set[str] = set()
        self._lock = threading.Lock()  # writers' threads call the hooks concurrently

    def __len__(self) -> int:
        return len(self._ids)

    def send(self, ids: Iterable[str], deliver: Callable[[set[str]], object]) -> None:
        """deliver(these ids and any kept from failed calls), a chunk at a time; on a Redis error keep
        what was not delivered and re-raise."""
        with self._lock:
            pending, self._ids = sorted(set(ids) | self._ids), set()
        try:
            while pending:
                deliver(set(pending[:self.chunk]))
                pending = pending[self.chunk:]
        except redis.RedisError:
            with self._lock:
                room = max(self.limit - len(self._ids), 0)
                if room < len(pending):
                    log.warning("retained profile ids at their limit; the reconcile will catch up",
                                extra={"fields": {"dropped": len(pending) - room}})
                self._ids |= set(pending[:room])
            raise
