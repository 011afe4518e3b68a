"""The API's own CPU per message before any I/O: validating and preparing a message as the ingest
routes do (no HTTP, no Neo4j), and what the Neo4j driver spends formatting a group's rows for its
RUN debug line (which it builds whether or not debug logging is on).

    python bench/prepare.py [--rounds 5] [--messages 20000]

Best of `rounds` (the least-disturbed round), in CPU time of this one thread, over the ingest
benchmark's traffic mix (bench/ingest.py's Population): batches of 100, and single track calls.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from app.auth import Keyring
from app.db import Rows, in_one_statement
from app.identity.rules import IdentityRules
from app.identity.store import event_rows
from app.ingest.service import IngestService
from bench.common import bench_settings, write_results
from bench.ingest import Population

BATCH = 100
APPLY = in_one_statement(("ingest/assign_identifiers", "ingest/update_profiles", "ingest/create_events"))


def best_us_per_unit(run, units: int, rounds: int) -> float:
    """The least CPU time of `rounds` calls of run(), in microseconds per unit."""
    best = float("inf")
    for _ in range(rounds):
        started = time.thread_time()
        run()
        best = min(best, time.thread_time() - started)
    return round(best * 1e6 / units, 1)


def run_line(params: dict) -> str:
    """What the driver builds for every RUN's debug line (neo4j/_sync/io/_bolt/_bolt5.py)."""
    return " ".join(map(repr, (APPLY, params, {})))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--messages", type=int, default=20_000)
    args = ap.parse_args()

    settings = bench_settings(7689)
    service = IngestService(settings, Keyring(settings), IdentityRules(settings))
    pop = Population(people=50_000, seed=1, tag="p")
    bodies = [{"batch": [pop.message() for _ in range(BATCH)]} for _ in range(args.messages // BATCH)]
    calls = [pop.track_message() for _ in range(args.messages)]
    messages = len(bodies) * BATCH
    service.batch(bodies[0], "web")  # imports and first-call set-up out of the measurement

    print(f"validating and preparing {messages:,} messages, best of {args.rounds} rounds")
    batch_us = best_us_per_unit(lambda: [service.batch(b, "web") for b in bodies], messages, args.rounds)
    print(f"  in batches of {BATCH}: {batch_us} us of CPU per message")
    single_us = best_us_per_unit(lambda: [service.single(c, "track", "web") for c in calls], len(calls), args.rounds)
    print(f"  as single track calls: {single_us} us of CPU per call")

    groups = [service.batch(b, "web") for b in bodies[:50]]
    rows = [{"events": event_rows(g, {m.message_id: m.identifiers[0].key for m in g})} for g in groups]
    print(f"the driver's RUN line for a group's event rows ({BATCH} messages), {len(rows)} groups")
    plain_us = best_us_per_unit(lambda: [run_line({"batch": r}) for r in rows], len(rows) * BATCH, args.rounds)
    quiet_us = best_us_per_unit(lambda: [run_line({"batch": Rows(r)}) for r in rows], len(rows) * BATCH, args.rounds)
    print(f"  rows as a plain map: {plain_us} us of CPU per message; as Rows: {quiet_us} us")

    write_results("prepare", {
        "rounds": args.rounds, "messages": messages, "batch_size": BATCH,
        "prepare_batch_us_per_message": batch_us, "prepare_single_us_per_call": single_us,
        "run_line_plain_us_per_message": plain_us, "run_line_rows_us_per_message": quiet_us,
    })


if __name__ == "__main__":
    main()
