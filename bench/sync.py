"""Destination sync benchmark: a 100,000-member segment synced to the local Resend-like server
through the official resend SDK, with the destination's rate limit at 1,000 requests/s; then 1% of
the members churn (500 leave, 500 join) and a second run must send only those 1,000 changes.

    .venv/bin/python -m bench.sync [--members 100000] [--rate 1000] [--churn 0.01]

Loading goes through the real write path (IngestService.batch + IdentityStore.ingest); membership
through the segments code (create_segment, then upkeep for the churned profiles); the runs through
SyncEngine.execute, the code a worker runs, in this process. The Resend-like server is the test fake
(tests/destinations/fakes/resend.py) on loopback.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from bisect import bisect_left

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import redis  # noqa: E402

from app.auth import Keyring  # noqa: E402
from app.destinations.engine import SyncEngine  # noqa: E402
from app.destinations.models import DestinationIn, SyncIn  # noqa: E402
from app.identity.rules import IdentityRules  # noqa: E402
from app.identity.store import IdentityStore  # noqa: E402
from app.ingest.service import IngestService  # noqa: E402
from app.segments import service  # noqa: E402
from app.segments.upkeep import upkeep  # noqa: E402
from bench.common import bench_settings, fresh_graph, start_neo4j, start_redis, write_results  # noqa: E402
from tests.destinations.fakes.resend import ResendFake  # noqa: E402

INSTANCE, PORT, HTTP_PORT, REDIS_PORT = "bench-sync", 7699, 7487, 6393
BATCH = 2_500
KEY = "re_bench_key_0123456789"


def person(n: int, plan: str) -> dict:
    return {
        "type": "identify",
        "messageId": f"bench-sync-{plan}-{n}",
        "userId": f"bench-user-{n}",
        "traits": {
            "email": f"member{n}@bench.example.org",
            "firstName": f"First{n}",
            "lastName": f"Last{n}",
            "plan": plan,
        },
    }


def ingest(settings, messages: list[dict]) -> set[str]:
    rules = IdentityRules(settings)
    service_ = IngestService(settings, Keyring(settings), rules)
    store = IdentityStore(driver, settings.neo4j_database, rules, settings.suppression_salt)
    touched: set[str] = set()
    for i in range(0, len(messages), BATCH):
        touched |= store.ingest(service_.batch({"batch": messages[i : i + BATCH]}, "server")).touched_profiles
    return touched


def max_per_second(times: list[float]) -> int:
    """The most requests that arrived within any one-second window."""
    times = sorted(times)
    return max((bisect_left(times, t + 1.0) - i for i, t in enumerate(times)), default=0)


def run(engine: SyncEngine, sync_id: str, fake: ResendFake) -> dict:
    first_request = len(fake.requests)
    run_ = engine.runs.create(engine.store.sync(sync_id), "manual")
    started = time.perf_counter()
    result = engine.execute(run_["id"])
    elapsed = time.perf_counter() - started
    assert result.outcome == "done", result
    with fake.lock:
        times = [r.at for r in fake.requests[first_request:]]
    rec = result.run
    return {
        "status": rec["status"],
        "mode": rec["mode"],
        "added": rec["added"],
        "removed": rec["removed"],
        "failed": rec["failed"],
        "requests": len(times),
        "seconds": round(elapsed, 2),
        "requests_per_second": round(len(times) / elapsed, 1) if elapsed else None,
        "max_requests_in_one_second": max_per_second(times),
    }


def main() -> int:
    global driver
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=100_000)
    ap.add_argument("--rate", type=float, default=1000.0)
    ap.add_argument("--churn", type=float, default=0.01)
    args = ap.parse_args()
    start_neo4j(INSTANCE, PORT, HTTP_PORT)
    redis_url = start_redis(REDIS_PORT)
    fake = ResendFake(api_key=KEY).start()
    settings = bench_settings(
        PORT,
        redis_url=redis_url,
        resend_api_url=fake.url,
        sync_batch_size=500,
        segment_upkeep=False,
    )
    driver = fresh_graph(settings)
    rclient = redis.Redis.from_url(settings.redis_url)
    rclient.flushdb()
    engine = SyncEngine(settings, driver, rclient)

    t = time.perf_counter()
    ingest(settings, [person(n, "pro") for n in range(args.members)])
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    tree = service.definition(driver, settings.neo4j_database, text="traits.plan = 'pro'")
    seg = service.create_segment(driver, settings.neo4j_database, "bench pros", None, tree)
    segment_s = time.perf_counter() - t
    print(
        f"loaded {args.members:,} profiles in {load_s:.1f}s; "
        f"segment of {seg['memberCount']:,} in {segment_s:.1f}s"
    )

    dest = engine.store.create_destination(
        DestinationIn(
            name="bench resend",
            type="resend",
            config={"audienceId": "aud_1"},
            secrets={"apiKey": KEY},
            rate_limit={"perSecond": args.rate, "burst": int(args.rate)},
        )
    )
    sync = engine.store.create_sync(SyncIn(segment_id=seg["id"], destination_id=dest["id"]), engine.feed)

    first = run(engine, sync["id"], fake)
    print(f"first run: {first}")
    contacts = len(fake.contacts())

    churn = int(args.members * args.churn)
    leaving = [person(n, "free") | {"messageId": f"bench-sync-leave-{n}"} for n in range(churn // 2)]
    joining = [person(args.members + n, "pro") for n in range(churn - churn // 2)]
    touched = ingest(settings, leaving + joining)
    upkeep(driver, settings.neo4j_database, sorted(touched))
    second = run(engine, sync["id"], fake)
    print(f"second run ({churn:,} churned): {second}")
    final_contacts = len(fake.contacts())
    fake.stop()

    bound = (
        args.rate * 1.02 + 1
    )  # the bucket's burst is one second's worth: any one second stays near the rate
    checks = {
        "first run exports every member": first["added"] == args.members == contacts
        and first["status"] == "succeeded",
        "throughput bounded by the rate limit": first["max_requests_in_one_second"]
        <= args.rate + int(args.rate)
        and first["requests_per_second"] <= bound,
        "throughput reaches the rate limit (limit, not the code, is the bound)": first["requests_per_second"]
        >= 0.85 * args.rate,
        "second run sends only the churn": second["mode"] == "diff"
        and second["requests"] == churn
        and (second["added"], second["removed"]) == (len(joining), len(leaving)),
        "audience matches the segment after the second run": final_contacts == args.members,
    }
    figures = {
        "members": args.members,
        "rate_limit_per_second": args.rate,
        "churn": churn,
        "load_seconds": round(load_s, 1),
        "segment_seconds": round(segment_s, 1),
        "first_run": first,
        "second_run": second,
        "checks": checks,
    }
    write_results("sync", figures)
    for name, ok in checks.items():
        print(f"{'PASS' if ok else 'MISS'}: {name}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
