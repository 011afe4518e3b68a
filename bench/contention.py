"""Writers contending for the same people: how often a group's transaction is re-run, and how long
the slowest group takes, against the store's retry budget.

    python bench/contention.py [--rounds 5] [--processes 16] [--people 20] [--messages 40]

Each round wipes the graph, then `processes` OS processes (each with its own driver and store, as
separate API processes would be) start together and write their batches of the overlapping-people
workload (tests/reliability/overlapping_people.py: every message joins two of one person's
identifiers; batches of 1 to 8) with `IdentityStore.ingest`. Printed per round and as medians over
rounds: re-runs by reason (the store's `cdp_ingest_write_retries_total`, read in each process),
groups that gave up (`StoreBusy`, answered 503 by the API), the slowest group's time against the
budget (`RETRY_SECONDS`), and whether the graph holds one profile per person.
"""
from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
import statistics
import sys
import threading
import time
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from app.identity.store import RETRY_SECONDS
from bench.common import add_store_arguments, open_bench_store, write_results
from tests.helpers import WIPE_GRAPH, partition
from tests.reliability.overlapping_people import batches, people_as_seen


def _writer(n: int, uri: str, password: str, workload: tuple, start, results) -> None:
    from neo4j import GraphDatabase

    from app import metrics
    from app.auth import Keyring
    from app.identity.rules import IdentityRules
    from app.identity.store import IdentityStore, StoreBusy
    from app.ingest.service import IngestService
    from bench.common import bench_settings

    settings = bench_settings(int(uri.rsplit(":", 1)[1]))
    driver = GraphDatabase.driver(uri, auth=(settings.neo4j_user, password))
    try:
        rules = IdentityRules(settings)
        store = IdentityStore(driver, settings.neo4j_database, rules, settings.suppression_salt)
        service = IngestService(settings, Keyring(settings), rules)
        people, messages, seed, prefix = workload
        prepared = [service.batch({"batch": b}, "web") for b in batches(n, people, messages, seed, prefix)]
        group_seconds: list[float] = []
        gave_up = stored = 0
        start.wait(60)
        for group in prepared:
            began = time.perf_counter()
            try:
                stored += store.ingest(group).stored
            except StoreBusy:
                gave_up += 1
            group_seconds.append(time.perf_counter() - began)
        retries = {s.labels["reason"]: s.value for s in metrics.WRITE_RETRIES.collect()[0].samples
                   if s.name.endswith("_total")}
        results.put({"stored": stored, "gave_up": gave_up, "groups": len(prepared),
                     "group_seconds": group_seconds, "retries": retries})
    except BaseException as exc:  # noqa: BLE001 - reported: the parent would wait out its timeouts
        start.abort()  # whoever still waits to start (the parent too) stops waiting
        results.put({"error": f"process {n}: {type(exc).__name__}: {exc}"})
    finally:
        driver.close()


def run_round(settings, driver, args, seed: int) -> dict:
    with driver.session() as s:
        s.run(WIPE_GRAPH).consume()
    ctx = mp.get_context("spawn")
    start = ctx.Barrier(args.processes + 1)
    results = ctx.Queue()
    workload = (args.people, args.messages, seed, f"r{seed}-")
    procs = [ctx.Process(target=_writer, args=(n, settings.neo4j_uri, settings.neo4j_password, workload, start, results))
             for n in range(args.processes)]
    for p in procs:
        p.start()
    with contextlib.suppress(threading.BrokenBarrierError):  # a process failed: its error is queued
        start.wait(120)
    began = time.perf_counter()
    outcomes = [results.get(timeout=600) for _ in procs]
    wall = time.perf_counter() - began
    for p in procs:
        p.join(30)
    errors = [o["error"] for o in outcomes if "error" in o]
    if errors:
        raise RuntimeError("; ".join(errors))
    retries: Counter = Counter()
    for o in outcomes:
        retries.update(o["retries"])
    groups = [t for o in outcomes for t in o["group_seconds"]]
    got = partition(driver)
    return {
        "seconds": round(wall, 2), "groups": len(groups), "messages_stored": sum(o["stored"] for o in outcomes),
        "re_runs": sum(retries.values()), "re_runs_by_reason": {k: int(v) for k, v in sorted(retries.items()) if v},
        "groups_gave_up": sum(o["gave_up"] for o in outcomes),
        "slowest_group_seconds": round(max(groups), 3),
        "group_p99_seconds": round(sorted(groups)[int(0.99 * (len(groups) - 1))], 3),
        "one_profile_per_person": got == people_as_seen(args.people, set().union(*got)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--processes", type=int, default=16)
    ap.add_argument("--people", type=int, default=20)
    ap.add_argument("--messages", type=int, default=40, help="messages per process")
    add_store_arguments(ap)
    args = ap.parse_args()

    settings, driver, _store, _service = open_bench_store(args.instance, args.port, args.redis_port, args.keep_store)
    print(f"{args.processes} processes x {args.messages} messages about {args.people} people, "
          f"{args.rounds} rounds (retry budget {RETRY_SECONDS:g} s per group)")
    # A round on a Neo4j just started runs cold (its JIT compiles the statements): not measured.
    warm = run_round(settings, driver, args, seed=900)
    print(f"  warm-up round: {warm['groups']} groups in {warm['seconds']} s (not counted)")
    rounds = []
    for n in range(args.rounds):
        r = run_round(settings, driver, args, seed=1000 + 100 * n)
        rounds.append(r)
        print(f"  round {n + 1}: {r['groups']} groups in {r['seconds']} s; {r['re_runs']} re-runs "
              f"{r['re_runs_by_reason']}; gave up {r['groups_gave_up']}; slowest group {r['slowest_group_seconds']} s "
              f"(p99 {r['group_p99_seconds']} s); one profile per person: {r['one_profile_per_person']}")
    medians = {k: statistics.median(r[k] for r in rounds)
               for k in ("seconds", "re_runs", "groups_gave_up", "slowest_group_seconds", "group_p99_seconds")}
    print(f"medians: {medians['re_runs']:g} re-runs per round, slowest group {medians['slowest_group_seconds']} s, "
          f"gave up {medians['groups_gave_up']:g}")
    write_results("contention", {
        "processes": args.processes, "people": args.people, "messages_per_process": args.messages,
        "retry_budget_seconds": RETRY_SECONDS, "medians": medians, "rounds": rounds,
    })
    driver.close()


if __name__ == "__main__":
    main()
