"""Group commit: concurrent requests share write transactions.

Requests put their prepared messages on a queue and wait; a writer takes everything queued
(up to a cap) and writes it in one transaction, then answers all of them. Under load this
turns many small commits into few large ones; at rest a lone request commits at once.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from neo4j.exceptions import ServiceUnavailable, SessionExpired

from app import metrics
from app.identity.store import IdentityStore, IngestResult
from app.ingest.prepare import PreparedMessage

log = logging.getLogger("cdp.ingest")


class WriterClosed(Exception):
    pass


@dataclass
class _Pending:
    messages: list[PreparedMessage]
    future: asyncio.Future


class GroupCommitWriter:
    def __init__(self, store: IdentityStore, max_messages: int, writers: int = 1,
                 on_commit: list[Callable[[IngestResult], None]] | None = None):
        self.store = store
        # Called after each durable commit (e.g. to queue segment upkeep for the touched profiles);
        # a failing hook is logged, never turned into a failed ingest.
        self.on_commit = on_commit if on_commit is not None else []
        self.max_messages = max_messages
        self.writers = writers
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._tasks: list[asyncio.Task] = []
        self._closed = False

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._run(), name=f"group-commit-{n}") for n in range(self.writers)]

    async def submit(self, messages: list[PreparedMessage]) -> IngestResult:
        if self._closed:
            raise WriterClosed("the service is shutting down")
        fut = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(messages, fut))
        return await fut

    async def close(self) -> None:
        """Stop taking requests, write what is queued, then stop the writers."""
        self._closed = True
        await self._queue.join()
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            group = [await self._queue.get()]
            size = len(group[0].messages)
            while size < self.max_messages and not self._queue.empty():
                item = self._queue.get_nowait()
                group.append(item)
                size += len(item.messages)
            try:
                await self._commit(group)
            finally:
                for _ in group:
                    self._queue.task_done()

    def _ingest_and_notify(self, messages: list[PreparedMessage]) -> IngestResult:
        """Runs in a worker thread: the hooks do blocking I/O (Redis) and must not stall the loop."""
        result = self.store.ingest(messages)
        for hook in self.on_commit:
            try:
                hook(result)
            except Exception:  # noqa: BLE001 - the data is committed; upkeep can catch up
                log.exception("post-commit hook failed", extra={"fields": {"hook": getattr(hook, "__name__", "?")}})
        return result

    async def _commit(self, group: list[_Pending]) -> None:
        messages = [m for p in group for m in p.messages]
        started = time.perf_counter()
        try:
            result = await asyncio.to_thread(self._ingest_and_notify, messages)
        except Exception as exc:  # noqa: BLE001 - isolate the request that failed from its neighbours
            if isinstance(exc, (ServiceUnavailable, SessionExpired)):
                # Neo4j is away: retrying each request alone would only hold the queue longer.
                log.error("write failed: Neo4j unavailable", extra={"fields": {"requests": len(group)}})
                for p in group:
                    if not p.future.done():
                        p.future.set_exception(exc)
                return
            if len(group) == 1:
                log.exception("write failed", extra={"fields": {"messages": len(messages)}})
                if not group[0].future.done():
                    group[0].future.set_exception(exc)
                return
            log.warning("group write failed; retrying requests one by one",
                        extra={"fields": {"requests": len(group), "error": type(exc).__name__}})
            for p in group:
                await self._commit([p])
            return
        elapsed = time.perf_counter() - started
        metrics.GROUP_SIZE.observe(len(messages))
        metrics.COMMIT_SECONDS.observe(elapsed)
        metrics.DUPLICATES.inc(result.duplicates)
        metrics.MERGES.inc(result.merges)
        metrics.REFUSALS.inc(result.refusals)
        metrics.NEW_PROFILES.inc(result.new_profiles)
        duplicate_ids = set(result.duplicate_ids)
        for m in messages:
            if m.message_id not in duplicate_ids:
                metrics.INGESTED.labels(m.source, m.type).inc()
        for p in group:
            if not p.future.done():
                p.future.set_result(result)
