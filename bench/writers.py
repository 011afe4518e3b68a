"""Two group-commit writers with and without people in common, straight through the store.

    python bench/writers.py [--rounds 3] [--groups 40] [--group-size 400]

A group's transaction locks every identifier and profile it touches until it commits. This
measures what that costs two writers that share a queue, against two writers fed as the
service routes messages (`app.ingest.writer.split_by_writer`: by device), and one writer alone, on
the same warmed graph, in alternating rounds so the machine's drift falls on all three:

- one writer: one thread, twice the groups;
- two writers, shared queue: two threads, each group any of the population's messages;
- two writers, routed: two threads, each taking the messages the service's routing gives its writer.

No HTTP: prepared groups are written with `IdentityStore.ingest`, as the service's writers do.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from app.ingest.service import IngestService
from bench.common import add_store_arguments, routed_groups, write_in_threads, write_results
from bench.ingest import Population, open_warmed_store

MODES = ("one writer", "two writers, shared queue", "two writers, routed by device")


def groups_for(mode: str, service: IngestService, pop: Population, groups: int, size: int) -> list[list[list]]:
    """Each writer's prepared groups: the same number of messages in every mode."""
    def group_of(messages: list[dict]) -> list:
        return service.batch({"batch": messages}, "web")

    if mode == "one writer":
        return [[group_of([pop.message() for _ in range(size)]) for _ in range(2 * groups)]]
    if mode == "two writers, shared queue":
        return [[group_of([pop.message() for _ in range(size)]) for _ in range(groups)] for _ in range(2)]
    prepared = [m for _ in range(2 * groups) for m in group_of([pop.message() for _ in range(size)])]
    return routed_groups(prepared, 2, size)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--groups", type=int, default=40, help="groups per writer in each measurement")
    ap.add_argument("--group-size", type=int, default=400)
    add_store_arguments(ap)
    args = ap.parse_args()

    driver, store, service, neo4j, warm = open_warmed_store(args)

    runs: dict[str, list[dict]] = {m: [] for m in MODES}
    seed = 100
    for n in range(args.rounds):
        for mode in MODES:
            seed += 1
            per_writer = groups_for(mode, service, Population(50_000, seed, "c"), args.groups, args.group_size)
            run = write_in_threads(store, per_writer, {"neo4j": neo4j, "writers": os.getpid()})
            runs[mode].append(run)
            print(f"  round {n + 1}/{args.rounds}  {mode:<31} {run['events_per_s']:6,} events/s  "
                  f"machine {run['cores']['machine']} cores (Neo4j {run['cores']['neo4j']})", flush=True)

    summary = {m: {"events_per_s_median": round(statistics.median(r["events_per_s"] for r in rs)),
                   "machine_cores_median": statistics.median(r["cores"]["machine"] for r in rs)}
               for m, rs in runs.items()}
    shared, routed = (summary[m]["events_per_s_median"] for m in MODES[1:])
    print("medians:")
    for m, s in summary.items():
        print(f"  {m:<31} {s['events_per_s_median']:6,} events/s  machine {s['machine_cores_median']} cores")
    print(f"  routed / shared: {routed / shared:.2f}x")
    write_results("writers", {
        "people": 50_000, "group_size": args.group_size, "groups_per_writer": args.groups,
        "warm_up": {"seconds": warm["seconds"], "settled": warm["settled"]},
        "summary": summary, "routed_over_shared": round(routed / shared, 2), "rounds": runs})
    driver.close()


if __name__ == "__main__":
    main()
