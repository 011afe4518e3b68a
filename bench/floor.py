"""What this machine's Neo4j can do at all, measured in the same run as the service: the floors
under the ingest goals.

- Durable-write floor: the latency of the least a durable answer needs. Requests arrive at the
  target rate and are grouped the way the service's group-commit writer groups them (same number
  of writers, each group one write transaction in a worker thread), but a group is one UNWIND MERGE
  of bare rows on a unique key: no HTTP, no validation, no identity work. The service's /v1/track
  p99 cannot be lower than this one's.
- Raw event insert: events/s of an UNWIND CREATE of the service's own prepared event rows in
  groups of 1,000, with every index the events carry, but no identifier, profile or edge. The
  service's batch throughput cannot be higher.
"""
from __future__ import annotations

import asyncio
import time
import uuid

from neo4j import Driver

from bench.common import percentile

# A label and constraint of the floor's own, dropped afterwards; values only as parameters.
FLOOR_CONSTRAINT = "CREATE CONSTRAINT bench_floor_key IF NOT EXISTS FOR (f:BenchFloor) REQUIRE f.key IS UNIQUE"
FLOOR_DROP_CONSTRAINT = "DROP CONSTRAINT bench_floor_key IF EXISTS"
FLOOR_WRITE = "UNWIND $batch.rows AS row MERGE (f:BenchFloor {key: row.key}) ON CREATE SET f.at = row.at"
FLOOR_CLEANUP = "MATCH (f:BenchFloor) CALL (f) { DETACH DELETE f } IN TRANSACTIONS OF 10000 ROWS"
RAW_EVENT_INSERT = "UNWIND $batch.events AS ev CREATE (e:Event) SET e = ev"
RAW_EVENT_CLEANUP = ("MATCH (e:Event) WHERE e.identifier STARTS WITH $prefix "
                     "CALL (e) { DETACH DELETE e } IN TRANSACTIONS OF 10000 ROWS")


def _write_group(driver: Driver, database: str, rows: list[dict]) -> None:
    with driver.session(database=database) as session:
        session.execute_write(lambda tx: tx.run(FLOOR_WRITE, batch={"rows": rows}).consume())


async def durable_write_floor(driver: Driver, database: str, rate: int, seconds: float, writers: int) -> dict:
    """Open loop at `rate` rows/s; latency from arrival to the commit of the row's group."""
    with driver.session(database=database) as session:
        session.run(FLOOR_CONSTRAINT).consume()
    queue: asyncio.Queue = asyncio.Queue()
    latencies: list[float] = []

    async def writer() -> None:
        while True:
            group = [await queue.get()]
            while not queue.empty():
                group.append(queue.get_nowait())
            await asyncio.to_thread(_write_group, driver, database, [row for row, _ in group])
            for _, done in group:
                done.set_result(None)

    async def one(row: dict) -> None:
        t0 = time.perf_counter()
        done = asyncio.get_running_loop().create_future()
        await queue.put((row, done))
        await done
        latencies.append((time.perf_counter() - t0) * 1000)

    tasks = [asyncio.create_task(writer()) for _ in range(writers)]
    try:
        total = int(rate * seconds)
        started = time.perf_counter()
        arrivals = []
        for n in range(total):
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            arrivals.append(asyncio.create_task(one({"key": uuid.uuid4().hex, "at": n})))
        await asyncio.gather(*arrivals)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with driver.session(database=database) as session:
            session.run(FLOOR_CLEANUP).consume()
            session.run(FLOOR_DROP_CONSTRAINT).consume()
    return {"rate": rate, "writers": writers, "p50_ms": round(percentile(latencies, 50), 2),
            "p99_ms": round(percentile(latencies, 99), 2)}


def raw_event_insert(driver: Driver, database: str, groups: list[list[dict]]) -> float:
    """Events/s of plain event creates; `groups` are the service's prepared event rows, each
    given an `identifier` under a prefix of the floor's own, deleted afterwards."""
    events = sum(len(g) for g in groups)
    try:
        started = time.perf_counter()
        for group in groups:
            driver.execute_query(RAW_EVENT_INSERT, batch={"events": group}, database_=database)
        return events / (time.perf_counter() - started)
    finally:
        with driver.session(database=database) as session:
            session.run(RAW_EVENT_CLEANUP, prefix="bench-floor:").consume()
