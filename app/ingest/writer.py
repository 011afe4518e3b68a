"""Group commit: concurrent requests share write transactions.

Requests put their prepared messages on a queue and wait; a writer takes everything queued
(up to a cap) and writes it in one transaction, then answers all of them. Under load this
turns many small commits into few large ones; at rest a lone request commits at once.

Each writer has its own queue, and a message goes to the queue its device picks (its
anonymousId, else its strongest identifier). A group's transaction locks every identifier and
profile it touches until it commits, so two writers taking from one shared queue nearly always
held a person in common and waited on each other; routed by device, one person's messages meet
in one writer and the writers run side by side. A request whose messages span writers is
answered once every part is durable.

Single calls (a request of one message: a browser's or an app's track, page, identify…) can have
writers of their own (`call_writers`), routed the same way among themselves. Each transaction
costs milliseconds of fixed CPU on both sides of Bolt, so at a few hundred calls a second two
writers sharing them made half as many transactions again, each smaller, and spent the machine's
CPU on that; one writer gathers them into fewer, larger groups. Batches keep their own
routed writers, so a bulk import neither queues in front of nor is slowed by interactive calls.
"""
from __future__ import annotations

import asyncio
import logging
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from neo4j.exceptions import ServiceUnavailable, SessionExpired

from app import metrics
from app.identity.rules import ANONYMOUS_ID, USER_ID
from app.identity.store import IdentityStore, IngestResult, StoreBusy
from app.ingest.prepare import PreparedMessage

log = logging.getLogger("cdp.ingest")


class WriterClosed(Exception):
    pass


def route_key(message: PreparedMessage) -> str:
    """The identifier that picks a message's writer: its device when it has one (nearly every
    client-side message does, and all of a visitor's messages share it), else its strongest."""
    for i in message.identifiers:
        if i.type == ANONYMOUS_ID:
            return i.key
    if message.identifiers:
        return message.identifiers[0].key
    return f"alias:{message.previous_id}" if message.previous_id is not None else message.message_id


def shard_of(message: PreparedMessage, shards: int) -> int:
    # crc32, not hash(): stable across processes and restarts, so routing is reproducible.
    return zlib.crc32(route_key(message).encode()) % shards if shards > 1 else 0


def split_by_writer(messages: list[PreparedMessage], writers: int) -> dict[int, list[PreparedMessage]]:
    """Messages by writer, each part in the request's order. Messages of one request that share
    an identifier or a messageId (or an alias's previousId) stay together, routed by the first
    of them: the planner then sees them in one transaction, as it did an unsplit request."""
    if writers == 1:
        return {0: messages}
    parent: dict[str, str] = {}

    def root(key: str) -> str:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    first_keys = []
    for m in messages:
        keys = [m.message_id, *(i.key for i in m.identifiers)]
        if m.previous_id is not None:
            keys += [f"{USER_ID}:{m.previous_id}", f"{ANONYMOUS_ID}:{m.previous_id}"]
        for k in keys:
            parent.setdefault(k, k)
        top = root(keys[0])
        for k in keys[1:]:
            other = root(k)
            if other != top:
                parent[other] = top
        first_keys.append(keys[0])
    shard_of_group: dict[str, int] = {}
    parts: dict[int, list[PreparedMessage]] = {}
    for m, key in zip(messages, first_keys):
        group = root(key)
        shard = shard_of_group.get(group)
        if shard is None:
            shard = shard_of_group[group] = shard_of(m, writers)
        parts.setdefault(shard, []).append(m)
    return parts


@dataclass
class _Pending:
    messages: list[PreparedMessage]
    future: asyncio.Future


class GroupCommitWriter:
    def __init__(self, store: IdentityStore, max_messages: int, writers: int = 1, call_writers: int = 0,
                 on_commit: list[Callable[[IngestResult], None]] | None = None):
        """`writers` take batches (and single calls too when `call_writers` is 0); `call_writers`
        take the requests of one message."""
        self.store = store
        # Called after each durable commit (e.g. to queue segment upkeep for the touched profiles);
        # a failing hook is logged, never turned into a failed ingest.
        self.on_commit = on_commit if on_commit is not None else []
        self.max_messages = max_messages
        self.writers = writers
        self.call_writers = call_writers
        self._queues: list[asyncio.Queue[_Pending]] = [asyncio.Queue() for _ in range(writers + call_writers)]
        # Metric labels: batch writers by number, call writers as call-<number>.
        self._labels = [str(n) for n in range(writers)] + [f"call-{n}" for n in range(call_writers)]
        self._queued = [metrics.WRITER_QUEUED.labels(label) for label in self._labels]
        self._tasks: list[asyncio.Task] = []
        self._closed = False

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._run(q, self._queued[n]), name=f"group-commit-{self._labels[n]}")
                       for n, q in enumerate(self._queues)]

    def parts(self, messages: list[PreparedMessage]) -> dict[int, list[PreparedMessage]]:
        """The request's messages by the queue that takes them."""
        if self.call_writers and len(messages) == 1:
            return {self.writers + shard_of(messages[0], self.call_writers): messages}
        return split_by_writer(messages, self.writers)

    async def submit(self, messages: list[PreparedMessage]) -> IngestResult:
        if self._closed:
            raise WriterClosed("the service is shutting down")
        loop = asyncio.get_running_loop()
        futures = []
        for shard, part in self.parts(messages).items():
            fut = loop.create_future()
            self._queues[shard].put_nowait(_Pending(part, fut))
            self._queued[shard].inc(len(part))
            futures.append(fut)
        if len(futures) == 1:
            return await futures[0]
        # Every part is waited for, even after one fails: the answer comes once nothing is in flight.
        outcomes = await asyncio.gather(*futures, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        return IngestResult.combined(outcomes)

    async def close(self) -> None:
        """Stop taking requests, write what is queued, then stop the writers."""
        self._closed = True
        for q in self._queues:
            await q.join()
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _run(self, queue: asyncio.Queue[_Pending], queued) -> None:
        while True:
            group = [await queue.get()]
            size = len(group[0].messages)
            while size < self.max_messages and not queue.empty():
                item = queue.get_nowait()
                group.append(item)
                size += len(item.messages)
            queued.dec(size)
            try:
                await self._commit(group)
            finally:
                for _ in group:
                    queue.task_done()

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
            if isinstance(exc, (ServiceUnavailable, SessionExpired, StoreBusy)):
                # Neo4j is away, or the group lost to concurrent writers for the whole retry budget:
                # retrying each request alone would only hold the queue longer. Senders retry a 503.
                log.error("write failed: Neo4j unavailable" if not isinstance(exc, StoreBusy)
                          else "write failed: concurrent writes for the whole retry budget",
                          extra={"fields": {"requests": len(group), "error": str(exc)}})
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
        metrics.SUPPRESSED.inc(result.suppressed)
        metrics.ERASED_DEVICES_STRIPPED.inc(result.erased_devices_stripped)
        metrics.MERGES.inc(result.merges)
        metrics.REFUSALS.inc(result.refusals)
        metrics.NEW_PROFILES.inc(result.new_profiles)
        not_stored = set(result.duplicate_ids) | set(result.suppressed_ids)
        for m in messages:
            if m.message_id not in not_stored:
                metrics.INGESTED.labels(m.source, m.type).inc()
        for p in group:
            if not p.future.done():
                p.future.set_result(result)
