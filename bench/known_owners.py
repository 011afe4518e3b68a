"""What the known owners save a visitor's calls: one confirming statement instead of a snapshot and
a write.

    python bench/known_owners.py [--rounds 4] [--groups 300] [--warm-up-limit 300]

On one warmed graph, in alternating rounds so the machine's drift falls on every mode, groups of 8
single calls go straight through the store, one thread, no HTTP. Two kinds of calls:

- returning visitors: people whose identifiers were written just before (the same people and
  identifiers, new messageIds);
- new visitors: people never seen before (a tag of the round's own), each call their first or,
  for the few drawn twice, an early one;

each through two stores:

- known owners: the service's store, which remembers where it wrote each identifier and takes an
  identifier it never wrote for a new one;
- from a snapshot: a store that remembers nothing (`CDP_KNOWN_OWNER_CAPACITY=0`), as before.

Reported per mode: the group transactions' p50 and p99 time, and Neo4j's and this process's CPU
per group; and how many groups were written on the known owners. (bench/calls.py measures the
same switch on the ingest benchmark's population.)
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from app.identity.store import IdentityStore
from bench.common import (
    add_store_arguments,
    ingest_timed,
    known_owner_groups_written,
    percentile,
    write_results,
)
from bench.ingest import Population, open_warmed_store, track_messages

KNOWN, SNAPSHOT = "known owners", "from a snapshot"
RETURNING, NEW = "returning visitors", "new visitors"
MODES = tuple((visitors, store) for visitors in (RETURNING, NEW) for store in (KNOWN, SNAPSHOT))
GROUP = 8  # the call writer's groups at 500 calls a second (bench/calls.py)


def returning_groups(store: IdentityStore, service, seed: int, groups: int) -> list[list]:
    """`groups` groups of single calls by people whose identifiers `store` has just written: the
    same seed draws the same people and identifiers again, with new messageIds."""
    calls = groups * GROUP
    first = track_messages(service, Population(20_000, seed, "k"), calls)
    for i in range(0, calls, 400):
        store.ingest(first[i:i + 400])
    again = track_messages(service, Population(20_000, seed, "k"), calls)
    return [again[i:i + GROUP] for i in range(0, calls, GROUP)]


def new_groups(service, seed: int, groups: int) -> list[list]:
    """`groups` groups of single calls by people no store has seen (a tag of this seed's own)."""
    calls = track_messages(service, Population(20_000, seed, f"new{seed}"), groups * GROUP)
    return [calls[i:i + GROUP] for i in range(0, len(calls), GROUP)]


def groups_for(visitors: str, store: IdentityStore, service, seed: int, groups: int) -> list[list]:
    return (returning_groups(store, service, seed, groups) if visitors == RETURNING
            else new_groups(service, seed, groups))


def label(mode: tuple[str, str]) -> str:
    return f"{mode[0]}, {mode[1]}"


def measure(store: IdentityStore, groups: list[list], neo4j: int | None) -> dict:
    """The groups through `store`, one after another."""
    known0 = known_owner_groups_written()
    timed = ingest_timed(store, groups, neo4j)
    times, n = timed["times_ms"], len(groups)
    return {"groups": n, "on_known_owners": round(known_owner_groups_written() - known0),
            "group_p50_ms": round(percentile(times, 50), 2), "group_p99_ms": round(percentile(times, 99), 2),
            "wall_us_per_group": round(1e6 * timed["wall_s"] / n),
            "neo4j_cpu_us_per_group": round(1e6 * timed["neo4j_cpu_s"] / n) if neo4j else None,
            "bench_cpu_us_per_group": round(1e6 * timed["own_cpu_s"] / n)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--groups", type=int, default=300, help="groups of 8 calls per mode and round")
    add_store_arguments(ap)
    args = ap.parse_args()

    driver, store, service, neo4j, warm = open_warmed_store(args)
    stores = {KNOWN: store, SNAPSHOT: IdentityStore(driver, store.database, store.rules, store.salt, known_owners=0)}
    for seed, mode in enumerate(MODES, start=1):  # each statement's plans, before any is timed
        measure(stores[mode[1]], groups_for(mode[0], store, service, seed, 60), neo4j)

    runs: dict[str, list[dict]] = {label(m): [] for m in MODES}
    seed = 100
    for n in range(args.rounds):
        for mode in MODES:
            seed += 1
            run = measure(stores[mode[1]], groups_for(mode[0], store, service, seed, args.groups), neo4j)
            runs[label(mode)].append(run)
            print(f"  round {n + 1}/{args.rounds}  {label(mode):<36} group p50 {run['group_p50_ms']:5.2f} ms  "
                  f"p99 {run['group_p99_ms']:6.2f} ms  per group: Neo4j {run['neo4j_cpu_us_per_group']:,} us  "
                  f"bench {run['bench_cpu_us_per_group']:,} us  wall {run['wall_us_per_group']:,} us  "
                  f"({run['on_known_owners']} of {run['groups']} on known owners)", flush=True)

    keys = ("group_p50_ms", "group_p99_ms", "wall_us_per_group", "neo4j_cpu_us_per_group", "bench_cpu_us_per_group")
    summary = {m: {f"{k}_median": statistics.median(r[k] for r in rs) for k in keys} for m, rs in runs.items()}
    print(f"medians of {args.rounds} rounds, groups of {GROUP} calls:")
    for m, s in summary.items():
        print(f"  {m:<36} group p50 {s['group_p50_ms_median']:.2f} ms  p99 {s['group_p99_ms_median']:.2f} ms  "
              f"per group: Neo4j {s['neo4j_cpu_us_per_group_median']:,.0f} us  "
              f"bench {s['bench_cpu_us_per_group_median']:,.0f} us  wall {s['wall_us_per_group_median']:,.0f} us")
    write_results("known_owners", {
        "people": 20_000, "group": GROUP, "groups_per_round": args.groups,
        "warm_up": {"seconds": warm["seconds"], "settled": warm["settled"]},
        "summary": summary, "rounds": runs})
    driver.close()


if __name__ == "__main__":
    main()
