"""Single calls through the group-commit writer: on the two batch writers, or on a writer of their own,
with and without the known owners.

    python bench/calls.py [--rounds 3] [--rate 500] [--seconds 10]

A browser's or an app's calls arrive one message per request. Each waits on a writer's queue, and a
writer takes everything queued and writes it in one transaction. This sends one track message per
arrival, open loop at --rate, through the service's GroupCommitWriter and IdentityStore (no HTTP),
in alternating rounds on one warmed graph, so the machine's drift falls on both modes:

- on the batch writers: two writers, the calls routed by device among them (`call_writers=0`);
- a call writer: the calls on one writer of their own (`call_writers=1`, the service's default);
- the same, every group planned from a snapshot: a store that remembers no owners
  (`CDP_KNOWN_OWNER_CAPACITY=0`), where the others write a group whose identifiers they remember,
  or have never written, in one confirming statement instead of two.

Each round prints the latency from arrival to durable commit (p50, p99), the mean group size, the
machine's busy cores and the CPU per call.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from app.identity.store import IdentityStore, IngestResult
from app.ingest.writer import GroupCommitWriter
from bench.common import CpuUse, add_store_arguments, known_owner_groups_written, percentile, write_results
from bench.floor import open_loop
from bench.ingest import Population, open_warmed_store, track_messages

# mode -> (batch writers, call writers)
MODES = {"on the batch writers": (2, 0), "a call writer": (2, 1), "a call writer, no known owners": (2, 1)}
SNAPSHOT_ONLY = "a call writer, no known owners"


class _CountingStore:
    """The store, counting the transactions (groups) the writer hands it."""

    def __init__(self, store: IdentityStore):
        self.store, self.groups = store, 0

    def ingest(self, messages) -> IngestResult:
        self.groups += 1
        return self.store.ingest(messages)


def measure(store: IdentityStore, messages: list, rate: int, mode: str, pids: dict) -> dict:
    """One message per arrival at `rate`, through a writer set up as `mode` says."""
    writers, call_writers = MODES[mode]
    if mode == SNAPSHOT_ONLY:  # the same graph and driver, through a store that remembers no owners
        store = IdentityStore(store.driver, store.database, store.rules, store.salt, known_owners=0)
    counting = _CountingStore(store)
    writer = GroupCommitWriter(counting, 2000, writers, call_writers)
    on_known = known_owner_groups_written()
    cpu = CpuUse(pids, jvm="neo4j").start()
    latencies = asyncio.run(open_loop(writer, [[m] for m in messages], rate))
    cpu.stop()
    return {"calls": len(messages), "seconds": round(cpu.elapsed, 3), "groups": counting.groups, "mean_group": round(len(messages) / counting.groups, 2),
            "groups_on_known_owners": round(known_owner_groups_written() - on_known),
            "p50_ms": round(percentile(latencies, 50), 1), "p99_ms": round(percentile(latencies, 99), 1),
            # Per call actually carried: a writer that falls behind stretches the phase past the rate's pace.
            "cores": cpu.cores, "cpu_us_per_call": cpu.us_per(len(messages) / cpu.elapsed)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rate", type=int, default=500)
    ap.add_argument("--seconds", type=float, default=10)
    add_store_arguments(ap)
    args = ap.parse_args()

    driver, store, service, neo4j, warm = open_warmed_store(args)
    pids = {"neo4j": neo4j, "bench": os.getpid()}
    measure(store, track_messages(service, Population(50_000, 2, "cw"), args.rate * 3), args.rate,
            "a call writer", pids)  # the track-sized plans and the writer's pool warm

    runs: dict[str, list[dict]] = {m: [] for m in MODES}
    seed = 100
    for n in range(args.rounds):
        for mode in MODES:
            seed += 1
            messages = track_messages(service, Population(50_000, seed, "c"), int(args.rate * args.seconds))
            run = measure(store, messages, args.rate, mode, pids)
            runs[mode].append(run)
            print(f"  round {n + 1}/{args.rounds}  {mode:<30} p50 {run['p50_ms']:6.1f} ms  p99 {run['p99_ms']:6.1f} ms  "
                  f"groups of {run['mean_group']:5.2f} ({run['groups_on_known_owners']} of {run['groups']} on known owners)  "
                  f"machine {run['cores']['machine']} cores  {run['cpu_us_per_call']['machine']:,} us per call", flush=True)

    summary = {m: {"p50_ms_median": statistics.median(r["p50_ms"] for r in rs),
                   "p99_ms_median": statistics.median(r["p99_ms"] for r in rs),
                   "mean_group_median": statistics.median(r["mean_group"] for r in rs),
                   "machine_cores_median": statistics.median(r["cores"]["machine"] for r in rs),
                   "machine_us_per_call_median": statistics.median(r["cpu_us_per_call"]["machine"] for r in rs)}
               for m, rs in runs.items()}
    print(f"medians at {args.rate} calls/s:")
    for m, s in summary.items():
        print(f"  {m:<30} p50 {s['p50_ms_median']} ms  p99 {s['p99_ms_median']} ms  groups of "
              f"{s['mean_group_median']}  machine {s['machine_cores_median']} cores  "
              f"{s['machine_us_per_call_median']:,} us per call")
    write_results("calls", {
        "people": 50_000, "rate": args.rate, "seconds": args.seconds,
        "warm_up": {"seconds": warm["seconds"], "settled": warm["settled"]},
        "summary": summary, "rounds": runs})
    driver.close()


if __name__ == "__main__":
    main()
