"""What the trait-search index costs ingest: updated in each ingest commit, or filled behind it.

    python bench/trait_index.py [--rounds 3] [--groups 600] [--warm-up-limit 300]

Before, a full-text index covered every event's traits, so Lucene took the update (and refreshed
its searcher) inside each ingest commit that stored an event with traits. Now identify events with
traits are stored with :TraitsPending and a worker moves them into the index in batches
(`app/profiles/trait_index.py`). On one warmed graph, in alternating rounds so the machine's drift
falls on both, the same mix of the ingest benchmark's messages (5% of them identify calls with
traits) goes straight through the store in groups as the call writer makes them, one thread, no
HTTP:

- indexed at commit: with the earlier index (`event_traits`, every event's traits) in place;
- filled behind ingest: as the service is now; after the round, the worker's batch indexes the
  round's pending events, and its cost is reported on its own.

Reported per mode: Neo4j's and this process's CPU per message, and the group transactions'
p50 and p99 time. Groups of 400 (a batch writer's) are measured the same way.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from app.profiles import trait_index
from bench.common import add_store_arguments, ingest_timed, neo4j_cpu_seconds, percentile, write_results
from bench.ingest import Population, open_warmed_store, prepared_groups

AT_COMMIT, BEHIND = "indexed at commit", "filled behind ingest"
MODES = (AT_COMMIT, BEHIND)
# The index earlier versions made (cypher/schema/003_profiles.cypher before this change).
EARLIER_INDEX = ("CREATE FULLTEXT INDEX event_traits IF NOT EXISTS FOR (e:Event) ON EACH [e.traits] "
                 "OPTIONS {indexConfig: {`fulltext.analyzer`: 'standard-no-stop-words'}}")
DROP_EARLIER_INDEX = "DROP INDEX event_traits IF EXISTS"
AWAIT_INDEXES = "CALL db.awaitIndexes(1800)"


def set_mode(driver, store, service, mode: str, seed: int, settle: tuple[int, int] = (40, 2)) -> None:
    """The earlier index in place (populated) for AT_COMMIT, gone for BEHIND; then a few untimed
    groups of each shape, since a schema change makes Neo4j plan every statement again."""
    driver.execute_query(EARLIER_INDEX if mode == AT_COMMIT else DROP_EARLIER_INDEX)
    driver.execute_query(AWAIT_INDEXES)
    pop = Population(50_000, seed, "c")
    calls, batches = settle
    for g in groups_of(service, pop, calls, 8) + groups_of(service, pop, batches, 400):
        store.ingest(g)


def groups_of(service, pop: Population, groups: int, size: int) -> list[list]:
    """`groups` groups of `size` of the population's messages, each message prepared alone (as
    single calls are) when groups are small, as one batch when they are a batch writer's."""
    if size > 8:
        return prepared_groups(service, pop, groups, size)
    return [[service.batch({"batch": [pop.message()]}, "web")[0] for _ in range(size)] for _ in range(groups)]


def timed_groups(store, groups: list[list], neo4j: int | None) -> dict:
    """Each group through `store.ingest` in turn: CPU per message (Neo4j's and this process's) and
    the group transactions' times."""
    messages = sum(len(g) for g in groups)
    timed = ingest_timed(store, groups, neo4j)
    times = timed["times_ms"]
    return {"messages": messages, "groups": len(groups),
            "neo4j_cpu_us_per_message": round(timed["neo4j_cpu_s"] * 1e6 / messages),
            "bench_cpu_us_per_message": round(timed["own_cpu_s"] * 1e6 / messages),
            "group_p50_ms": round(percentile(times, 50), 1), "group_p99_ms": round(percentile(times, 99), 1)}


def timed_indexing(driver, database: str, neo4j: int | None) -> dict:
    """The worker's batch over what is pending: Neo4j's CPU per event it indexed."""
    neo4j0, t = neo4j_cpu_seconds(neo4j), time.perf_counter()
    indexed = trait_index.index_pending(driver, database)
    neo4j_s = neo4j_cpu_seconds(neo4j) - neo4j0
    return {"indexed": indexed, "seconds": round(time.perf_counter() - t, 3),
            "neo4j_cpu_us_per_event": round(neo4j_s * 1e6 / indexed) if indexed else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--groups", type=int, default=600, help="groups of the call writer's size per round")
    ap.add_argument("--call-group", type=int, default=8, help="messages per group, as the call writer gathers them")
    ap.add_argument("--batch-groups", type=int, default=20, help="groups of 400 per round")
    add_store_arguments(ap)
    args = ap.parse_args()

    driver, store, service, neo4j, warm = open_warmed_store(args)
    database = store.database
    trait_index.index_pending(driver, database)  # what the warm-up left pending
    shapes = {"calls": (args.groups, args.call_group), "batches": (args.batch_groups, 400)}
    runs: dict[str, dict[str, list[dict]]] = {s: {m: [] for m in MODES} for s in shapes}
    indexing: list[dict] = []
    seed = 200
    for n in range(args.rounds):
        for mode in MODES:
            seed += 1
            set_mode(driver, store, service, mode, seed)
            for shape, (count, size) in shapes.items():
                seed += 1
                groups = groups_of(service, Population(50_000, seed, "c"), count, size)
                run = timed_groups(store, groups, neo4j)
                runs[shape][mode].append(run)
                print(f"  round {n + 1}/{args.rounds}  {shape:<7} {mode:<21} Neo4j {run['neo4j_cpu_us_per_message']:5,} µs"
                      f" and this process {run['bench_cpu_us_per_message']:4,} µs per message; group p50"
                      f" {run['group_p50_ms']} ms, p99 {run['group_p99_ms']} ms", flush=True)
            if mode == BEHIND:
                batch = timed_indexing(driver, database, neo4j)
                indexing.append(batch)
                print(f"  round {n + 1}/{args.rounds}  the worker's batch: {batch['indexed']:,} events in "
                      f"{batch['seconds']} s, Neo4j {batch['neo4j_cpu_us_per_event']} µs per event", flush=True)
            else:
                trait_index.index_pending(driver, database)  # the pending label is written either way
    driver.execute_query(DROP_EARLIER_INDEX)

    def median(rs: list[dict], key: str) -> float:
        return statistics.median(r[key] for r in rs)

    summary = {shape: {mode: {k: median(rs, k) for k in ("neo4j_cpu_us_per_message", "bench_cpu_us_per_message",
                                                         "group_p50_ms", "group_p99_ms")}
                       for mode, rs in by_mode.items()} for shape, by_mode in runs.items()}
    summary["worker_batch"] = {"events_median": median(indexing, "indexed"),
                               "neo4j_cpu_us_per_event_median": median(indexing, "neo4j_cpu_us_per_event")}
    print("medians:")
    for shape in shapes:
        for mode in MODES:
            s = summary[shape][mode]
            print(f"  {shape:<7} {mode:<21} Neo4j {s['neo4j_cpu_us_per_message']:,.0f} µs, this process "
                  f"{s['bench_cpu_us_per_message']:,.0f} µs per message; group p50 {s['group_p50_ms']} ms, "
                  f"p99 {s['group_p99_ms']} ms")
    w = summary["worker_batch"]
    print(f"  the worker's batch: {w['events_median']:,.0f} events, Neo4j {w['neo4j_cpu_us_per_event_median']:,.0f} µs per event")
    write_results("trait_index", {
        "people": 50_000, "call_group": args.call_group, "groups": args.groups, "batch_groups": args.batch_groups,
        "warm_up": {"seconds": warm["seconds"], "settled": warm["settled"]},
        "summary": summary, "rounds": {"runs": runs, "worker_batches": indexing}})
    driver.close()


if __name__ == "__main__":
    main()
