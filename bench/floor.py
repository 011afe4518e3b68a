"""What this machine's Neo4j can do at all, measured in the same run as the service: the floors
under the ingest goals.

- Durable-write floor: the latency of the least a durable answer needs. Requests arrive at the
  target rate and are grouped by the service's own GroupCommitWriter (same writers, same cap), but
  its store writes a group as one UNWIND MERGE of bare rows on a unique key: no HTTP, no
  validation, no identity work. The service's /v1/track
  p99 cannot be lower than this one's.
- Raw event insert: events/s of an UNWIND CREATE of the service's own prepared event rows in
  groups of 1,000, with every index the events carry, but no identifier, profile or edge. The
  service's batch throughput cannot be higher.
- Identity floor: less graph work than this service's identity model needs before it answers, in
  one statement per group: each event stored once per messageId on its identifier, each identifier
  looked up or created, one profile for the identifiers a message brings first, one evidence edge
  from a message's first identifier to each of its others. No merges, limits, counts, seen windows,
  traits, suppression checks or locks beyond MERGE's own. Written in groups of 1,000 it shows the
  CPU such an event costs at the least; through the writer at the track rate, one message per
  arrival, the latency.
"""
from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass

from neo4j import Driver

from app.identity.store import IngestResult
from app.ingest.prepare import PreparedMessage
from app.ingest.writer import GroupCommitWriter
from bench.common import CpuUse, percentile

# A label and constraint of the floor's own, dropped afterwards; values only as parameters.
FLOOR_CONSTRAINT = ("CREATE CONSTRAINT bench_floor_key IF NOT EXISTS "
                    "FOR (f:BenchFloor) REQUIRE f.key IS UNIQUE")
FLOOR_DROP_CONSTRAINT = "DROP CONSTRAINT bench_floor_key IF EXISTS"
FLOOR_WRITE = "UNWIND $batch.rows AS row MERGE (f:BenchFloor {key: row.key}) ON CREATE SET f.at = row.at"
FLOOR_CLEANUP = "MATCH (f:BenchFloor) CALL (f) { DETACH DELETE f } IN TRANSACTIONS OF 10000 ROWS"
RAW_EVENT_PREFIX = "bench-floor:"
RAW_EVENT_INSERT = "UNWIND $batch.events AS ev CREATE (e:Event) SET e = ev"
RAW_EVENT_CLEANUP = ("MATCH (e:Event) WHERE e.identifier STARTS WITH $prefix "
                     "CALL (e) { DETACH DELETE e } IN TRANSACTIONS OF 10000 ROWS")
IDENTITY_FLOOR_WRITE = """
CALL () {
  UNWIND $batch.identifiers AS row
  MERGE (i:Identifier {key: row.key})
    ON CREATE SET i.type = row.type, i.value = row.value, i.firstSeen = row.ts, i.lastSeen = row.ts
  WITH i, row WHERE NOT EXISTS { (i)-[:BELONGS_TO]->(:Profile) }
  WITH row.profile AS id, min(row.ts) AS createdAt, collect(i) AS fresh
  CREATE (p:Profile {id: id, createdAt: createdAt})
  FOREACH (i IN fresh | CREATE (i)-[:BELONGS_TO]->(p))
}
CALL () {
  UNWIND $batch.pairs AS pair
  MATCH (a:Identifier {key: pair.a}), (b:Identifier {key: pair.b})
  MERGE (a)-[s:SEEN_WITH]->(b)
    ON CREATE SET s.firstMessageId = pair.messageId
}
UNWIND $batch.events AS ev
MATCH (i:Identifier {key: ev.identifier})
MERGE (e:Event {messageId: ev.messageId})
  ON CREATE SET e = ev
MERGE (e)-[:SEEN_AS]->(i)
"""
IDENTITY_FLOOR_CLEANUP = ("MATCH (i:Identifier) WHERE i.key STARTS WITH $prefix "
                          "CALL (i) { OPTIONAL MATCH (i)-[:BELONGS_TO]->(p:Profile) DETACH DELETE i, p } "
                          "IN TRANSACTIONS OF 10000 ROWS")


@dataclass
class _Row:
    """What the writer needs of a message: its id (the row's key, which also routes it to a
    writer, having no identifiers) and metric labels."""
    message_id: str
    source: str = "bench-floor"
    type: str = "floor"
    identifiers: tuple = ()
    previous_id: None = None


class _BareRowStore:
    """Stands in for IdentityStore behind the writer: one UNWIND MERGE per group, nothing else."""

    def __init__(self, driver: Driver, database: str):
        self.driver, self.database = driver, database

    def ingest(self, rows: list[_Row]) -> IngestResult:
        batch = {"rows": [{"key": r.message_id, "at": time.time_ns()} for r in rows]}
        with self.driver.session(database=self.database) as session:
            session.execute_write(lambda tx: tx.run(FLOOR_WRITE, batch=batch).consume())
        return IngestResult(stored=len(rows))


class _IdentityFloorStore:
    """Stands in for IdentityStore behind the writer: the identity floor's one statement per group."""

    def __init__(self, driver: Driver, database: str):
        self.driver, self.database = driver, database

    def ingest(self, messages: list[PreparedMessage]) -> IngestResult:
        batch = identity_floor_rows(messages)
        with self.driver.session(database=self.database) as session:
            session.execute_write(lambda tx: tx.run(IDENTITY_FLOOR_WRITE, batch=batch).consume())
        return IngestResult(stored=len(messages))


def identity_floor_rows(messages: list[PreparedMessage]) -> dict:
    """The identity floor's parameters. Keys and messageIds carry the floor's own prefix, so its
    nodes never meet the service's and are found and deleted afterwards. The identifiers a message
    brings first share one would-be profile id (the service too gives a new person one profile);
    rows and pairs are sorted, so concurrent groups take their locks in one order."""
    identifiers: dict[str, dict] = {}
    for m in messages:
        profile = uuid.uuid4().hex
        for i in m.identifiers:
            key = RAW_EVENT_PREFIX + i.key
            if key not in identifiers:
                identifiers[key] = {"key": key, "type": i.type, "value": i.value, "ts": m.ts, "profile": profile}
    pairs = {(RAW_EVENT_PREFIX + m.identifiers[0].key, RAW_EVENT_PREFIX + i.key): RAW_EVENT_PREFIX + m.message_id
             for m in reversed(messages) for i in m.identifiers[1:]}  # reversed: the first message wins
    return {
        "identifiers": [identifiers[k] for k in sorted(identifiers)],
        "pairs": [{"a": a, "b": b, "messageId": pairs[(a, b)]} for a, b in sorted(pairs)],
        "events": [{**m.event, "messageId": RAW_EVENT_PREFIX + m.message_id,
                    "identifier": RAW_EVENT_PREFIX + m.identifiers[0].key} for m in messages],
    }


async def open_loop(writer: GroupCommitWriter, arrivals: list[list], rate: int) -> list[float]:
    """Submit one item of `arrivals` every 1/rate s, whatever is still in flight; the latency of
    each, in ms, from its arrival to the commit of its group."""
    latencies: list[float] = []

    async def one(item: list) -> None:
        t0 = time.perf_counter()
        await writer.submit(item)
        latencies.append((time.perf_counter() - t0) * 1000)

    await writer.start()
    try:
        started = time.perf_counter()
        tasks = []
        for n, item in enumerate(arrivals):
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(item)))
        await asyncio.gather(*tasks)
    finally:
        await writer.close()
    return latencies


def _latency(latencies: list[float]) -> dict:
    return {"p50_ms": round(percentile(latencies, 50), 2), "p99_ms": round(percentile(latencies, 99), 2)}


async def durable_write_floor(driver: Driver, database: str, rate: int, seconds: float, writers: int,
                              max_messages: int, call_writers: int = 0) -> dict:
    """Open loop at `rate` rows/s; latency from arrival to the commit of the row's group."""
    with driver.session(database=database) as session:
        session.run(FLOOR_CONSTRAINT).consume()
    writer = GroupCommitWriter(_BareRowStore(driver, database), max_messages, writers, call_writers)
    try:
        latencies = await open_loop(writer, [[_Row(uuid.uuid4().hex)] for _ in range(int(rate * seconds))], rate)
    finally:
        with driver.session(database=database) as session:
            session.run(FLOOR_CLEANUP).consume()
            session.run(FLOOR_DROP_CONSTRAINT).consume()
    return {"rate": rate, "writers": writers, "call_writers": call_writers, **_latency(latencies)}


async def identity_write_floor(driver: Driver, database: str, messages: list[PreparedMessage], rate: int,
                               writers: int, max_messages: int, call_writers: int = 0) -> dict:
    """Open loop at `rate` messages/s, one message per arrival, written by the identity floor's
    statement through the service's writer; latency from arrival to the commit of its group."""
    writer = GroupCommitWriter(_IdentityFloorStore(driver, database), max_messages, writers, call_writers)
    try:
        latencies = await open_loop(writer, [[m] for m in messages], rate)
    finally:
        delete_floor_nodes(driver, database)
    return {"messages": len(latencies), **_latency(latencies)}


def delete_floor_nodes(driver: Driver, database: str) -> None:
    with driver.session(database=database) as session:
        session.run(RAW_EVENT_CLEANUP, prefix=RAW_EVENT_PREFIX).consume()
        session.run(IDENTITY_FLOOR_CLEANUP, prefix=RAW_EVENT_PREFIX).consume()


def _timed_inserts(driver: Driver, database: str, statement: str, batches: list[dict], events: int,
                   cpu: CpuUse) -> dict:
    """Events/s of `statement` run once per batch, one at a time, and the CPU each process spent
    per event; the floor's nodes are deleted afterwards."""
    try:
        started = time.perf_counter()
        cpu.start()
        for batch in batches:
            driver.execute_query(statement, batch=batch, database_=database)
        cpu.stop()
        rate = events / (time.perf_counter() - started)
        return {"events_per_s": round(rate), "cpu_us_per_event": cpu.us_per(rate)}
    finally:
        delete_floor_nodes(driver, database)


def raw_event_insert(driver: Driver, database: str, groups: list[list[PreparedMessage]],
                     cpu: CpuUse) -> dict:
    """Plain event creates of the service's prepared events, each given an `identifier` under a
    prefix of the floor's own, by which they are deleted afterwards."""
    batches = [{"events": [{**m.event, "identifier": RAW_EVENT_PREFIX + m.identifiers[0].key} for m in g]}
               for g in groups]
    return _timed_inserts(driver, database, RAW_EVENT_INSERT, batches, sum(map(len, groups)), cpu)


def identity_floor_insert(driver: Driver, database: str, groups: list[list[PreparedMessage]],
                          cpu: CpuUse) -> dict:
    """The identity floor's statement over prepared groups."""
    batches = [identity_floor_rows(g) for g in groups]
    return _timed_inserts(driver, database, IDENTITY_FLOOR_WRITE, batches, sum(map(len, groups)), cpu)
