"""Profile read benchmark: the first page of a timeline in a store of 1,000,000 events where one
profile holds 100,000 of them, through timeline() and through HTTP (uvicorn + httpx, loopback).

    .venv/bin/python -m bench.profiles [--events 1000000] [--big 100000] [--requests 500] [--reload]

Goal: the big profile's first page (limit 50) answers with p99 < 20 ms. Loading goes through the
real write path (IngestService.batch + IdentityStore.ingest, 2,500 messages a transaction); a rerun
reuses the loaded store when its event count matches (--reload to start over).
"""
from __future__ import annotations

import argparse
import logging
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta

import httpx

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from app import db
from app.auth import Keyring
from app.identity.rules import IdentityRules
from app.identity.store import IdentityStore
from app.ingest.service import IngestService
from app.profiles import trait_index
from app.profiles.document import profile_document
from app.profiles.resolve import resolve
from app.profiles.search import search_profiles
from app.profiles.timeline import timeline
from bench.common import bench_settings, fresh_graph, percentile, start_neo4j, write_results
from bench.ingest import start_api
from tests.helpers import free_port

INSTANCE, PORT, HTTP_PORT = "bench-profiles", 7694, 7481
BATCH = 2_500
GOAL_P99_MS = 20.0
BIG_USER, BIG_DEVICES, LATE_DEVICE = "bench-big", [f"big-dev-{n}" for n in range(4)], "big-dev-late"
SOURCES = ["web", "mobile", "server", "stripe"]
NAMES = ["Product Viewed", "Product Added", "Cart Viewed", "Order Completed", "Search", "Signed In",
         "Video Played", "Subscription Started"]
START = datetime(2025, 6, 1, tzinfo=UTC)
SMALL_EVENTS = 10  # per small profile
ADMIN = {"Authorization": "Bearer dev-admin-token"}
SMALL_REF = "small-dev-8"  # an anonymous small profile of 10 events
EVENT_FILTER = {"event": "Order Completed", "source": "mobile"}  # ~2% of the big profile's events
TYPE_FILTER = {"types": ["screen"]}  # ~5% of the big profile's events
SEARCH_REQUESTS = 50
SEARCHES = {  # q: what it exercises
    "person4242@": "identifier value prefix: 1 profile",
    "email:person42": "identifier key prefix: 111 profiles",
    "pro": "trait value of 1 profile",
    "free": "trait value of every small profile: all read",
}


def _stamp(rng: random.Random) -> str:
    # Whole seconds over 180 days: the big profile sees some ties on ts, as real traffic does.
    return (START + timedelta(seconds=rng.randrange(180 * 86_400))).strftime("%Y-%m-%dT%H:%M:%SZ")


def big_message(rng: random.Random, n: int) -> dict:
    """The big profile's n-th message: user id, one of 4 devices, or an email-anchored identify.

    A fifth device's anonymous events make a profile of their own until the late login merges it."""
    m = {"messageId": f"big-{n}", "timestamp": _stamp(rng)}
    if n % 1000 == 0 and n // 1000 < len(BIG_DEVICES):  # device d logs in at message 1000*d
        return {**m, "type": "identify", "userId": BIG_USER, "anonymousId": BIG_DEVICES[n // 1000],
                "traits": {"email": "big@bench.example.org", "plan": "pro"}}
    roll = rng.random()
    who = {"userId": BIG_USER} if rng.random() < 0.4 else {"anonymousId": rng.choice(BIG_DEVICES + [LATE_DEVICE])}
    if roll < 0.02:  # anchored to the email: it outranks the device
        return {**m, "type": "identify", "anonymousId": rng.choice(BIG_DEVICES),
                "traits": {"email": "big@bench.example.org", "visits": n}}
    if roll < 0.05:
        return {**m, "type": "identify", "userId": BIG_USER, "traits": {"visits": n}}
    if roll < 0.25:
        return {**m, **who, "type": "page", "name": "Pricing", "properties": {"path": "/pricing"}}
    if roll < 0.30:
        return {**m, **who, "type": "screen", "name": "Home"}
    return {**m, **who, "type": "track", "event": rng.choice(NAMES), "properties": {"value": n % 97}}


def small_message(rng: random.Random, n: int) -> dict:
    p = n // SMALL_EVENTS
    m = {"messageId": f"small-{n}", "timestamp": _stamp(rng), "anonymousId": f"small-dev-{p}"}
    if p % 3 == 0:
        m["userId"] = f"small-user-{p}"
    if n % SMALL_EVENTS == 0:
        return {**m, "type": "identify", "traits": {"email": f"person{p}@bench.example.org", "plan": "free"}}
    return {**m, "type": "track", "event": rng.choice(NAMES), "properties": {"value": n % 97}}


def late_logins(small_profiles: int, count: int) -> list[dict]:
    """Identifies that arrive after everything else and merge: a small anonymous profile into a
    logged-in one each, and a late device (with its own anonymous history) into the big profile."""
    out = [{"messageId": "big-late-login", "type": "identify", "timestamp": _stamp(random.Random(0)),
            "userId": BIG_USER, "anonymousId": LATE_DEVICE}]
    for k in range(count - 1):
        p, q = 3 * k, 3 * k + 1  # p has a user id, q is anonymous only
        if q >= small_profiles:
            break
        out.append({"messageId": f"small-late-{k}", "type": "identify", "timestamp": _stamp(random.Random(k)),
                    "userId": f"small-user-{p}", "anonymousId": f"small-dev-{q}"})
    return out


def messages(total: int, big: int, seed: int = 1):
    """(source, message) in load order: the big profile's messages spread among the rest, then
    the late logins (their count is part of the total)."""
    rng = random.Random(seed)
    late = late_logins((total - big) // SMALL_EVENTS, max(1, min(2_000, total // 500)))
    big_main = big - 1  # the big profile's late login is one of its events
    small = total - big_main - len(late)
    b = s = 0
    while b < big_main or s < small:
        if b < big_main and (s >= small or rng.random() < big / total):
            yield SOURCES[b % len(SOURCES)], big_message(rng, b)
            b += 1
        else:
            yield rng.choice(SOURCES), small_message(rng, s)
            s += 1
    for m in late:
        yield "server", m


def load(store: IdentityStore, service: IngestService, total: int, big: int) -> float:
    started = last = time.perf_counter()
    groups: dict[str, list[dict]] = {src: [] for src in SOURCES}
    done = 0

    def flush(src: str) -> None:
        nonlocal done
        store.ingest(service.batch({"batch": groups[src]}, src))
        done += len(groups[src])
        groups[src] = []

    for src, m in messages(total, big):
        groups[src].append(m)
        if len(groups[src]) == BATCH:
            flush(src)
            now = time.perf_counter()
            if now - last >= 10:
                print(f"  … {done:>9,} events  {done / (now - started):7,.0f} events/s", flush=True)
                last = now
    for src in SOURCES:
        if groups[src]:
            flush(src)
    return time.perf_counter() - started


def event_count(driver) -> int:
    return driver.execute_query("MATCH (e:Event) RETURN count(e) AS n").records[0]["n"]


def timed(fn, requests: int) -> dict:
    for _ in range(20):  # warm caches and the connection pool
        fn()
    samples = []
    for _ in range(requests):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return {"requests": requests, "p50_ms": round(percentile(samples, 50), 2),
            "p95_ms": round(percentile(samples, 95), 2), "p99_ms": round(percentile(samples, 99), 2),
            "max_ms": round(max(samples), 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--big", type=int, default=100_000, help="events of the one big profile")
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--reload", action="store_true", help="wipe and load again even if the store is there")
    args = ap.parse_args()
    logging.getLogger("neo4j.notifications").setLevel(logging.ERROR)  # "no such property yet" and the like

    os.environ.setdefault("NEO4J_PAGECACHE", "2g")  # the 1M-event store fits in memory, as in production
    start_neo4j(INSTANCE, PORT, HTTP_PORT)
    settings = bench_settings(PORT)
    rules = IdentityRules(settings)
    driver = db.connect(settings)
    db.apply_schema(driver, settings.neo4j_database)
    if args.reload or event_count(driver) != args.events:
        driver.close()
        driver = fresh_graph(settings)
        print(f"1/3 loading {args.events:,} events ({args.big:,} on one profile), {BATCH:,} per transaction")
        store = IdentityStore(driver, settings.neo4j_database, rules)
        seconds = load(store, IngestService(settings, Keyring(settings), rules), args.events, args.big)
        print(f"  loaded in {seconds:.0f}s ({args.events / seconds:,.0f} events/s)")
    else:
        seconds = None
        print(f"1/3 reusing the loaded store ({args.events:,} events)")

    database = settings.neo4j_database
    # What beat does every few seconds in service: without it every identify event of the load waits
    # for the trait-search index, and trait search reads every waiting event (seconds, not ms).
    pending = trait_index.pending_count(driver, database)
    if pending:
        t0 = time.perf_counter()
        indexed = trait_index.index_pending(driver, database)
        print(f"  indexed {indexed:,} identify events for trait search in {time.perf_counter() - t0:.0f}s, "
              "as beat does behind ingest")
    big_id = resolve(driver, database, rules, f"user_id:{BIG_USER}")
    small_id = resolve(driver, database, rules, f"anonymous_id:{SMALL_REF}")
    document_runs = []
    for _ in range(5):
        t0 = time.perf_counter()
        doc = profile_document(driver, database, big_id)
        document_runs.append((time.perf_counter() - t0) * 1000)
    document_ms = sorted(document_runs)[2]
    assert doc["eventCount"] == args.big, f"the big profile holds {doc['eventCount']} events, not {args.big}"
    print(f"  big profile {big_id}: {doc['eventCount']:,} events, {len(doc['identifiers'])} identifiers, "
          f"{len(doc['mergedFrom'])} merged in; its document in {document_ms:.0f} ms (median of 5)")

    deep_cursor = None
    for _ in range(20):  # the 21st page: a cursor keeps the seek short however deep the page
        deep_cursor = timeline(driver, database, big_id, cursor=deep_cursor)["next"]
    cases = {  # name: (profile id, timeline() arguments)
        "big_first_page": (big_id, {}),
        "big_event_filtered_first_page": (big_id, EVENT_FILTER),
        "big_type_filtered_first_page": (big_id, TYPE_FILTER),
        "big_21st_page": (big_id, {"cursor": deep_cursor}),
        "small_first_page": (small_id, {}),
    }
    print(f"2/3 timeline(), {args.requests} sequential calls a case")
    direct = {name: timed(lambda pid=pid, kw=kw: timeline(driver, database, pid, **kw), args.requests)
              for name, (pid, kw) in cases.items()}

    print(f"  search_profiles(), {SEARCH_REQUESTS} sequential calls a query")
    searches = {q: timed(lambda q=q: search_profiles(driver, database, q), SEARCH_REQUESTS) for q in SEARCHES}
    for q, f in searches.items():
        f["first_page_profiles"] = len(search_profiles(driver, database, q)["profiles"])

    port = free_port()
    api = start_api(settings, port)
    print(f"3/3 GET /v1/profiles/{{ref}}/events over HTTP (uvicorn, loopback), {args.requests} sequential requests a case")
    big_ref, small_ref = f"/v1/profiles/user_id:{BIG_USER}/events", f"/v1/profiles/anonymous_id:{SMALL_REF}/events"
    http_cases = {
        "big_first_page": (big_ref, {}),
        "big_first_page_by_profile_id": (f"/v1/profiles/{big_id}/events", {}),
        "big_event_filtered_first_page": (big_ref, {"event": EVENT_FILTER["event"], "source": EVENT_FILTER["source"]}),
        "big_type_filtered_first_page": (big_ref, {"type": TYPE_FILTER["types"]}),
        "small_first_page": (small_ref, {}),
    }
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=ADMIN, timeout=10) as http:
            def get(path: str, params: dict) -> None:
                r = http.get(path, params=params)
                r.raise_for_status()
            over_http = {name: timed(lambda path=path, params=params: get(path, params), args.requests)
                         for name, (path, params) in http_cases.items()}
    finally:
        api.terminate()
        api.wait(30)
    driver.close()

    print(f"\n  {'case':<46}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for via, figures in (("timeline()", direct), ("http", over_http)):
        for name, f in figures.items():
            print(f"  {via + ' ' + name:<46}{f['p50_ms']:>9}{f['p95_ms']:>9}{f['p99_ms']:>9}{f['max_ms']:>9}")
    print(f"\n  {'search q':<60}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for q, f in searches.items():
        print(f"  {q + ' (' + SEARCHES[q] + ')':<60}{f['p50_ms']:>9}{f['p95_ms']:>9}{f['p99_ms']:>9}{f['max_ms']:>9}")
    goals = {
        "timeline_big_first_page_p99_ms<20": direct["big_first_page"]["p99_ms"] < GOAL_P99_MS,
        "http_big_first_page_p99_ms<20": over_http["big_first_page"]["p99_ms"] < GOAL_P99_MS,
    }
    for name, ok in goals.items():
        print(f"  {'PASS' if ok else 'MISS'}  {name}")
    write_results("profiles", {
        "store": {"events": args.events, "big_profile_events": args.big, "big_profile_identifiers": len(doc["identifiers"]),
                  "load_seconds": None if seconds is None else round(seconds, 1),
                  "page_size": 50, "event_filter": EVENT_FILTER, "type_filter": TYPE_FILTER},
        "document_big_ms": round(document_ms, 1),
        "timeline": direct, "http": over_http, "search": {"queries": SEARCHES, "figures": searches}, "goals": goals,
    })


if __name__ == "__main__":
    main()
