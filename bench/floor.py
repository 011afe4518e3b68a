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


@dataclass
class _Row:
    """What the writer needs of a message: its id (the row's key) and metric labels."""
    message_id: str
    source: str = "bench-floor"
    type: str = "floor"


class _BareRowStore:
    """Stands in for IdentityStore behind the writer: one UNWIND MERGE per group, nothing else."""

    def __init__(self, driver: Driver, database: str):
        self.driver, self.database = driver, database

    def ingest(self, rows: list[_Row]) -> IngestResult:
        batch = {"rows": [{"key": r.message_id, "at": time.time_ns()} for r in rows]}
        with self.driver.session(database=self.database) as session:
            session.execute_write(lambda tx: tx.run(FLOOR_WRITE, batch=batch).consume())
        return IngestResult(stored=len(rows))


async def durable_write_floor(driver: Driver, database: str, rate: int, seconds: float, writers: int,
                              max_messages: int) -> dict:
    """Open loop at `rate` rows/s; latency from arrival to the commit of the row's group."""
    with driver.session(database=database) as session:
        session.run(FLOOR_CONSTRAINT).consume()
    writer = GroupCommitWriter(_BareRowStore(driver, database), max_messages, writers)
    latencies: list[float] = []

    async def one() -> None:
        t0 = time.perf_counter()
        await writer.submit([_Row(uuid.uuid4().hex)])
        latencies.append((time.perf_counter() - t0) * 1000)

    await writer.start()
    try:
        started = time.perf_counter()
        arrivals = []
        for n in range(int(rate * seconds)):
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            arrivals.append(asyncio.create_task(one()))
        await asyncio.gather(*arrivals)
    finally:
        await writer.close()
        with driver.session(database=database) as session:
            session.run(FLOOR_CLEANUP).consume()
            session.run(FLOOR_DROP_CONSTRAINT).consume()
    return {"rate": rate, "writers": writers, "p50_ms": round(percentile(latencies, 50), 2),
            "p99_ms": round(percentile(latencies, 99), 2)}


def raw_event_insert(driver: Driver, database: str, groups: list[list[PreparedMessage]],
                     cpu: CpuUse) -> dict:
    """Events/s of plain event creates of the service's prepared events, each given an `identifier`
    under a prefix of the floor's own, by which they are deleted afterwards; and the CPU each
    process spent per event."""
    rows = [[{**m.event, "identifier": RAW_EVENT_PREFIX + m.identifiers[0].key} for m in g] for g in groups]
    try:
        started = time.perf_counter()
        cpu.start()
        for group in rows:
            driver.execute_query(RAW_EVENT_INSERT, batch={"events": group}, database_=database)
        cpu.stop()
        rate = sum(len(g) for g in rows) / (time.perf_counter() - started)
        return {"events_per_s": round(rate), "cpu_us_per_event": cpu.us_per(rate)}
    finally:
        with driver.session(database=database) as session:
            session.run(RAW_EVENT_CLEANUP, prefix=RAW_EVENT_PREFIX).consume()
