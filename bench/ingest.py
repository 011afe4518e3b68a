"""Ingest benchmark, loopback only: batch throughput vs the raw UNWIND ceiling, /v1/track
latency at a fixed rate, and merge time of a 100,000-event profile vs a 10-event one; and, in the
same run, the machine's floors under those goals (bench/floor.py).

    python bench/ingest.py [--seconds 20] [--port 7689]

Goals (2-core machine, Neo4j on it): /v1/batch of 100 >= 5,000 events/s sustained and >= 70%
of the ceiling measured in the same run; /v1/track p99 < 25 ms at 500 requests/s; merging a
100,000-event profile within 2x the time of merging a 10-event profile.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import os
import random
import statistics
import subprocess
import sys
import time
import uuid

import httpx
import orjson
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from app.identity.store import IdentityStore
from app.ingest.service import IngestService
from bench.common import (
    ROOT,
    CpuUse,
    add_store_arguments,
    neo4j_gc_pauses,
    neo4j_log_events,
    neo4j_pid,
    open_bench_store,
    percentile,
    routed_groups,
    stalls,
    write_in_threads,
    write_results,
)
from bench.floor import durable_write_floor, identity_floor_insert, identity_write_floor, raw_event_insert
from bench.loadgen import Pool
from tests.helpers import free_port

BATCH_GOAL = 5000  # events/s through /v1/batch
EVENTS_STORED = "MATCH (e:Event) RETURN count(e) AS events"  # from the count store, not a scan
AUTH = {"Authorization": "Basic " + base64.b64encode(b"dev-web-key:").decode(), "Content-Type": "application/json"}


class Population:
    """People with a device, some logged in, some with an email: a web app's traffic mix."""

    def __init__(self, people: int, seed: int, tag: str):
        self.rng = random.Random(seed)
        self.people = people
        self.tag = tag

    def message(self) -> dict:
        p = self.rng.randrange(self.people)
        roll = self.rng.random()
        m = {"messageId": uuid.uuid4().hex, "anonymousId": f"{self.tag}-dev-{p}",
             "timestamp": "2026-11-20T10:00:00.000Z", "context": {"library": {"name": "bench", "version": "1"}}}
        if roll < 0.70:
            m.update(type="track", event=f"Event {p % 20}", properties={"value": p % 97, "plan": "pro"})
        elif roll < 0.95:
            m.update(type="page", userId=f"{self.tag}-user-{p}", name="Pricing", properties={"path": "/pricing"})
        else:
            m.update(type="identify", userId=f"{self.tag}-user-{p}",
                     traits={"email": f"person{p}@{self.tag}.example.org", "plan": "pro"})
        return m

    def track_message(self) -> dict:
        """A message as the track phase sends it: one of the population's, as a track call."""
        return {**self.message(), "type": "track", "event": "Clicked"}


def prepared_groups(service: IngestService, pop: Population, count: int, size: int = 1000) -> list:
    """`count` groups of `size` of the population's messages, validated and prepared as the API does."""
    return [service.batch({"batch": [pop.message() for _ in range(size)]}, "web") for _ in range(count)]


def track_messages(service: IngestService, pop: Population, count: int) -> list:
    """`count` of the population's messages as the track phase sends them, each prepared alone."""
    return [service.batch({"batch": [pop.track_message()]}, "web")[0] for _ in range(count)]


def warm_up(store: IdentityStore, service: IngestService, pop: Population, neo4j: int | None,
            window_s: float = 20, tolerance: float = 0.15, jit_quiet: float = 0.05, limit_s: float = 600) -> dict:
    """Groups of 1,000 and track-sized groups through the store, in windows, until Neo4j's JIT
    compiler is quiet and two windows in a row agree on the rate. A freshly started Neo4j compiles
    its hot paths for several minutes, on the two cores the service needs: measuring then counts
    start-up as the service's cost. A wiped graph is also planned again as it grows."""
    windows: list[dict] = []
    started = time.perf_counter()
    while not warm_up_settled(windows, tolerance, jit_quiet) and time.perf_counter() - started < limit_s:
        cpu = CpuUse({"neo4j": neo4j}, jvm="neo4j").start()
        window_started = time.perf_counter()
        events, writing = 0, 0.0
        while time.perf_counter() - window_started < window_s:
            batch = prepared_groups(service, pop, 1)[0]
            track = track_messages(service, pop, 240)
            groups = [batch] + [track[i:i + 8] for i in range(0, len(track), 8)]
            t = time.perf_counter()
            for group in groups:
                store.ingest(group)
            writing += time.perf_counter() - t
            events += len(batch) + len(track)
        cpu.stop()
        windows.append({"events_per_s": round(events / writing), "neo4j_jit_cores": cpu.cores.get("neo4j_jit")})
        print(f"  … warm-up {time.perf_counter() - started:4.0f} s  {windows[-1]['events_per_s']:6,} events/s  "
              f"Neo4j's JIT compiler {windows[-1]['neo4j_jit_cores']} cores", flush=True)
    return {"seconds": round(time.perf_counter() - started), "windows": windows,
            "settled": warm_up_settled(windows, tolerance, jit_quiet)}


def open_warmed_store(args):
    """The benchmark's store (see `open_bench_store`), warmed up by `warm_up` on 50,000 people:
    (driver, store, service, Neo4j's pid, the warm-up's record)."""
    _, driver, store, service = open_bench_store(args.instance, args.port, args.redis_port, args.keep_store)
    neo4j = neo4j_pid(args.instance)
    print("warm-up: groups through the store until Neo4j's JIT compiler is quiet and the rate settles")
    warm = warm_up(store, service, Population(50_000, 1, "c"), neo4j, limit_s=args.warm_up_limit)
    return driver, store, service, neo4j, warm


def warm_up_settled(windows: list[dict], tolerance: float, jit_quiet: float) -> bool:
    """The last two windows agree on the rate within `tolerance`, the last is within `tolerance` of
    the best window yet (two windows slowed alike by a stall agree too), and in the last one the JIT
    compiler used at most `jit_quiet` cores (not checked when Neo4j's process is unknown)."""
    if len(windows) < 2:
        return False
    last, before = windows[-1], windows[-2]
    best = max(w["events_per_s"] for w in windows)
    jit = last["neo4j_jit_cores"]
    return (abs(last["events_per_s"] - before["events_per_s"]) <= tolerance * before["events_per_s"]
            and last["events_per_s"] >= (1 - tolerance) * best
            and (jit is None or jit <= jit_quiet))


def api_warm_up(round_fn, neo4j: int | None, jit_quiet: float = 0.05, limit_s: float = 180) -> dict:
    """Rounds of traffic through the API (`round_fn()`: a few seconds of batches, then of tracks)
    until Neo4j's JIT compiler used at most `jit_quiet` cores in a round. The API's traffic reaches
    code the store warm-up does not (many small concurrent transactions, Bolt from another
    process), and Neo4j compiles it for about a minute: without this the batch and track phases
    paid for that compiling, which a long-running service pays once."""
    rounds: list[dict] = []
    settled = False
    started = time.perf_counter()
    while not settled and time.perf_counter() - started < limit_s:
        cpu = CpuUse({"neo4j": neo4j}, jvm="neo4j").start()
        round_fn()
        cpu.stop()
        jit = cpu.cores.get("neo4j_jit")
        rounds.append({"neo4j_jit_cores": jit})
        print(f"  … API warm-up {time.perf_counter() - started:4.0f} s  Neo4j's JIT compiler {jit} cores", flush=True)
        settled = jit is None or jit <= jit_quiet
    return {"seconds": round(time.perf_counter() - started), "rounds": rounds, "settled": settled}


def events_stored(driver) -> int:
    """Events in the graph: a phase's cost per event grows with the graph it writes into."""
    return driver.execute_query(EVENTS_STORED).records[0]["events"]


def ceiling(store: IdentityStore, service: IngestService, pop: Population, events: int, batch: int,
            writers: int, neo4j: int | None = None) -> dict:
    """The same write path (one UNWIND transaction per group), called directly: no HTTP, no waiting.
    As many writers as the service runs, each on its own thread with the messages the service's
    routing gives it: one writer alone would understate what the store does for the service.
    Events/s, and the CPU per event of Neo4j and of the writer threads (this process, which does
    nothing else meanwhile): the Python the service's writers run for every event."""
    messages = [m for group in prepared_groups(service, pop, events // batch, batch) for m in group]
    written = write_in_threads(store, routed_groups(messages, writers, batch), {"neo4j": neo4j, "writers": os.getpid()})
    return {"events_per_s": written["events_per_s"], "cpu_us_per_event": written["cpu_us_per_event"]}



def start_api(settings, port: int) -> subprocess.Popen:
    env = {**os.environ, "CDP_NEO4J_URI": settings.neo4j_uri, "CDP_NEO4J_PASSWORD": settings.neo4j_password,
           "CDP_REDIS_URL": settings.redis_url, "CDP_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "app.main:create_app", "--host", "127.0.0.1",
                             "--port", str(port), "--no-access-log", "--log-level", "warning"], cwd=ROOT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise SystemExit("the API exited during start-up")
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("the API did not start")


async def batch_load(port: int, pop: Population, seconds: float, clients: int, size: int,
                     cpu: CpuUse | None = None) -> dict:
    """Closed loop: `clients` senders, each posting batches back to back for `seconds`."""
    bodies = [orjson.dumps({"batch": [pop.message() for _ in range(size)]})
              for _ in range(int(seconds * 9000 / size) + clients)]
    sent = 0
    failures = 0
    latencies: list[float] = []  # ms from sending a batch to its answer
    stop = time.perf_counter() + seconds

    async def sender(pool: Pool) -> None:
        nonlocal sent, failures
        while time.perf_counter() < stop and bodies:
            t0 = time.perf_counter()
            status, _ = await pool.post("/v1/batch", bodies.pop())
            latencies.append((time.perf_counter() - t0) * 1000)
            if status == 200:
                sent += size
            else:
                failures += 1

    started = time.perf_counter()
    if cpu:
        cpu.start()
    last_report = started
    async with Pool("127.0.0.1", port, AUTH, clients) as pool:
        tasks = [asyncio.create_task(sender(pool)) for _ in range(clients)]
        while not all(t.done() for t in tasks):
            await asyncio.sleep(0.5)
            now = time.perf_counter()
            if now - last_report >= 5:
                print(f"  … {now - started:4.0f}s  {sent / (now - started):8.0f} events/s", flush=True)
                last_report = now
        await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    if cpu:
        cpu.stop()
    return {"events": sent, "seconds": round(elapsed, 2), "events_per_s": round(sent / elapsed), "failed_requests": failures,
            "clients": clients, "batch_size": size,
            "request_p50_ms": round(percentile(latencies, 50), 1), "request_p99_ms": round(percentile(latencies, 99), 1)}


async def track_latency(port: int, pop: Population, rate: int, seconds: float,
                        cpu: CpuUse | None = None) -> dict:
    """Open loop: one request every 1/rate s whatever the answers do; latency from send to answer."""
    total = int(rate * seconds)
    bodies = [orjson.dumps(pop.track_message()) for _ in range(total)]
    latencies: list[float] = []
    sent: list[tuple[float, float]] = []  # (sent at, Unix s; latency, ms): when the slow ones were
    errors = 0

    async def one(pool: Pool, body: bytes) -> None:
        nonlocal errors
        sent_at, t0 = time.time(), time.perf_counter()
        status, _ = await pool.post("/v1/track", body)
        latencies.append((time.perf_counter() - t0) * 1000)
        sent.append((sent_at, latencies[-1]))
        if status != 200:
            errors += 1

    # Enough connections that a request never waits for one: latency is the server's.
    async with Pool("127.0.0.1", port, AUTH, 128) as pool:
        started = time.perf_counter()
        if cpu:
            cpu.start()
        tasks = []
        for n, body in enumerate(bodies):
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(pool, body)))
        await asyncio.gather(*tasks)
        achieved = total / (time.perf_counter() - started)
        if cpu:
            cpu.stop()
    return {"requests": total, "target_rps": rate, "achieved_rps": round(achieved), "errors": errors,
            "p50_ms": round(percentile(latencies, 50), 2), "p95_ms": round(percentile(latencies, 95), 2),
            "p99_ms": round(percentile(latencies, 99), 2), "max_ms": round(max(latencies), 2),
            "stalls": stalls(sent)}


# The API's own histograms, read from its /metrics around a phase: how long its group commits took
# (cdp_ingest_commit_seconds: the transaction and the post-commit hooks) and how long it took to
# answer track calls once it had them (cdp_http_request_seconds): against the load generator's own
# latencies, this tells time spent in transactions from time spent waiting before or around them;
# and its garbage collector's pauses (cdp_python_gc_pause_seconds, all generations).
API_HISTOGRAMS = {"commits": ("cdp_ingest_commit_seconds", {}),
                  "track_answers": ("cdp_http_request_seconds", {"route": "/v1/track", "status": "200"}),
                  "gc_pauses": ("cdp_python_gc_pause_seconds", {})}


def api_metrics(port: int) -> dict:
    """One reading of the API's /metrics: each of API_HISTOGRAMS as {bucket upper bound in s:
    observations so far at or under it}, under `re_runs` its group transactions re-run so far,
    by reason (cdp_ingest_write_retries_total: deadlocks between its writers are work done twice),
    and under `known_owners` its groups written on remembered owners or planned from a snapshot
    (cdp_ingest_known_owner_groups_total: the cheaper path, and how often its check failed)."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    found: dict = {name: {} for name in API_HISTOGRAMS}
    found["re_runs"] = {}
    found["known_owners"] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "cdp_ingest_write_retries_total":
                found["re_runs"][sample.labels["reason"]] = sample.value
            if sample.name == "cdp_ingest_known_owner_groups_total":
                found["known_owners"][sample.labels["outcome"]] = sample.value
            if not sample.name.endswith("_bucket"):
                continue
            for name, (metric, labels) in API_HISTOGRAMS.items():
                if sample.name == metric + "_bucket" and all(sample.labels.get(k) == v for k, v in labels.items()):
                    le = float(sample.labels["le"])
                    found[name][le] = found[name].get(le, 0) + sample.value
    return found


def counts_between(before: dict[str, float], after: dict[str, float]) -> dict[str, int]:
    return {reason: round(n - before.get(reason, 0)) for reason, n in sorted(after.items())
            if n - before.get(reason, 0)}


def slower_than(before: dict[float, float], after: dict[float, float], bounds_s: tuple[float, ...]) -> dict:
    """Observations made between two readings of a histogram, and the share of them over each
    bound (each a bucket bound of the histogram)."""
    total = after.get(float("inf"), 0) - before.get(float("inf"), 0)
    shares = {f"over_{round(b * 1000)}_ms": round((total - (after[b] - before.get(b, 0))) / total, 3) if total else None
              for b in bounds_s}
    return {"count": round(total), **shares}


def _profile_with_events(store: IdentityStore, service: IngestService, events: int, tag: str) -> tuple[str, str]:
    device, user = f"merge-dev-{tag}", f"merge-user-{tag}"
    for start in range(0, events, 2500):
        chunk = [{"type": "track", "event": "Viewed", "anonymousId": device, "messageId": uuid.uuid4().hex}
                 for _ in range(min(2500, events - start))]
        store.ingest(service.batch({"batch": chunk}, "web"))
    store.ingest(service.batch({"batch": [{"type": "identify", "userId": user, "messageId": uuid.uuid4().hex}]}, "web"))
    return device, user


def merge_times(store: IdentityStore, service: IngestService, sizes: tuple[int, ...], repeats: int) -> dict[int, float]:
    """Median seconds to merge a device profile holding N events into a logged-in profile.

    All profiles are built first and the first round of merges is a warm-up, so the timed merges
    (interleaved across sizes) do not pay for the bulk load's aftermath."""
    pairs = [(size, *_profile_with_events(store, service, size, f"{size}-{n}"))
             for n in range(repeats + 1) for size in sizes]
    times: dict[int, list[float]] = {size: [] for size in sizes}
    for n, (size, device, user) in enumerate(pairs):
        merge = service.batch({"batch": [{"type": "identify", "userId": user, "anonymousId": device,
                                          "messageId": uuid.uuid4().hex}]}, "web")
        t0 = time.perf_counter()
        result = store.ingest(merge)
        if n >= len(sizes):  # past the warm-up round
            times[size].append(time.perf_counter() - t0)
        assert result.merges == 1, "the benchmark's merge did not merge"
    return {size: statistics.median(t) for size, t in times.items()}


def _cores(cores: dict[str, float]) -> str:
    return ", ".join(f"{name} {used:.2f}" for name, used in cores.items()) + f" (of {os.cpu_count()})"


def _pauses(p: dict) -> str:
    return f"{p['count']} times, {p['total_ms']:,} ms in all, the longest {p['longest_ms']} ms"


def _log_events(log: dict) -> str:
    checkpoints = ", ".join(f"{c['ms']:,} ms" for c in log["checkpoints"]) or "none"
    return f"{log['replans']} replans, {log['log_rotations']} log rotations, checkpoints: {checkpoints}"


def _stalls(s: dict) -> str:
    text = f"{s['slow_requests']} requests over {s['threshold_ms']:.0f} ms, in {s['stalls']} stalls"
    if s["longest"]:
        text += "; the longest: " + ", ".join(f"{g['started_at'][11:23]} for {g['span_ms']} ms ({g['requests']} requests)"
                                              for g in s["longest"][:3])
    return text


_API_VIEW_NAMES = {"commits": "group commits", "track_answers": "track answers", "gc_pauses": "garbage collections"}


def _api_view(view: dict) -> str:
    def share(h: dict, key: str) -> str:
        return "-" if h[key] is None else f"{h[key]:.1%}"
    return "; ".join(f"{view[key]['count']:,} {name}, {share(view[key], 'over_25_ms')} over 25 ms and "
                     f"{share(view[key], 'over_100_ms')} over 100 ms" for key, name in _API_VIEW_NAMES.items())


def _known_owners(counts: dict[str, int]) -> str:
    """Groups the known-owners check let through ('written'), and those it sent to a snapshot after
    checking them; a group never checked (a new identifier beside a remembered one) is in neither."""
    return f"{counts.get('written', 0):,} written, {counts.get('planned_from_snapshot', 0):,} sent back to a snapshot"


def _settled(warm: dict) -> str:
    return f"{warm['seconds']} s, {'settled' if warm['settled'] else 'not settled at the limit'}"


def _us(per: dict[str, int]) -> str:
    return ", ".join(f"{name} {us:,} us" for name, us in per.items())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20)
    add_store_arguments(ap, warm_up_limit=600)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--rate", type=int, default=500)
    ap.add_argument("--merge-events", type=int, default=100_000)
    ap.add_argument("--api-warm-up-limit", type=float, default=180,
                    help="seconds the warm-up through the API may take at most")
    args = ap.parse_args()

    settings, driver, store, service = open_bench_store(args.instance, args.port, args.redis_port, args.keep_store)
    pop = Population(people=50_000, seed=1, tag="c")
    print("0/5 warm-up: groups of 1,000 and of 8 through the store until Neo4j's JIT compiler is quiet "
          "and the rate settles")
    warm = warm_up(store, service, pop, neo4j_pid(args.instance), limit_s=args.warm_up_limit)
    warm["events_stored_after"] = events_stored(driver)
    print(f"  {_settled(warm)}; "
          f"{warm['events_stored_after']:,} events in the graph")

    ceiling_writers = settings.group_commit_writers
    print(f"1/5 raw UNWIND ceiling: prepared groups of 1,000 written straight through the store by {ceiling_writers} "
          "writers, routed as the service routes them")
    ceiling_group = settings.group_commit_max_messages // 2
    ceiling_before = ceiling(store, service, pop, events=60_000, batch=ceiling_group, writers=ceiling_writers,
                             neo4j=neo4j_pid(args.instance))
    ceil_before = ceiling_before["events_per_s"]
    print(f"  ceiling: {ceil_before:,.0f} events/s (measured again after the batch phase); "
          f"CPU per event: {_us(ceiling_before['cpu_us_per_event'])}")

    port = free_port()
    api = start_api(settings, port)
    try:
        print(f"   API warm-up: 5 s of /v1/batch, then 5 s of /v1/track at {args.rate}/s, until Neo4j's JIT "
              "compiler is quiet")
        warm_pop = Population(50_000, 8, "aw")

        def api_round() -> None:
            asyncio.run(batch_load(port, warm_pop, 5, args.clients, 100))
            asyncio.run(track_latency(port, warm_pop, args.rate, 5))

        api_warm = api_warm_up(api_round, neo4j_pid(args.instance), limit_s=args.api_warm_up_limit)
        warm["api"] = api_warm
        print(f"  {_settled(api_warm)}")
        print(f"2/5 /v1/batch of 100, {args.clients} clients, {args.seconds:.0f}s after a 3 s warm-up")
        asyncio.run(batch_load(port, Population(50_000, 5, "bw"), 3, args.clients, 100))  # the new API's pools
        pids = {"api": api.pid, "neo4j": neo4j_pid(args.instance), "load_generator": os.getpid()}
        stored_before_batch = events_stored(driver)
        cpu = CpuUse(pids, jvm="neo4j")
        re_runs_before = api_metrics(port)["re_runs"]
        batch = asyncio.run(batch_load(port, Population(50_000, 2, "b"), args.seconds, args.clients, 100,
                                       cpu))
        batch["re_runs"] = counts_between(re_runs_before, api_metrics(port)["re_runs"])
        batch["events_stored_before"] = stored_before_batch
        # The graph grows and the machine's speed drifts within a run: the ceiling measured on both
        # sides of the batch phase, and the share taken of their mean, brackets it.
        ceiling_after = ceiling(store, service, pop, events=60_000, batch=ceiling_group, writers=ceiling_writers,
                                neo4j=neo4j_pid(args.instance))
        ceil_after = ceiling_after["events_per_s"]
        ceil = (ceil_before + ceil_after) / 2
        batch["ceiling_events_per_s"] = {"before": round(ceil_before), "after": round(ceil_after)}
        batch["ceiling_cpu_us_per_event"] = {"before": ceiling_before["cpu_us_per_event"],
                                             "after": ceiling_after["cpu_us_per_event"]}
        batch["share_of_ceiling"] = round(batch["events_per_s"] / ceil, 3)
        batch["neo4j_gc_pauses"] = neo4j_gc_pauses(args.instance, cpu)
        batch["neo4j_log"] = neo4j_log_events(args.instance, cpu)
        batch["cpu_cores"] = cpu.cores
        batch["cpu_us_per_event"] = cpu.us_per(batch["events_per_s"])
        batch["cpu_budget_us_per_event_at_goal"] = round(os.cpu_count() * 1e6 / BATCH_GOAL)
        print(f"  {batch['events_per_s']:,} events/s = {batch['share_of_ceiling']:.0%} of the ceiling "
              f"(mean of {ceil_before:,.0f} before and {ceil_after:,.0f} after), into a graph of "
              f"{stored_before_batch:,} events")
        print(f"  a batch answered in p50 {batch['request_p50_ms']} ms, p99 {batch['request_p99_ms']} ms")
        print(f"  cores used: {_cores(cpu.cores)}")
        print(f"  group transactions re-run: {batch['re_runs'] or 'none'}")
        print(f"  CPU per event: {_us(batch['cpu_us_per_event'])}; all {os.cpu_count()} cores at "
              f"{BATCH_GOAL:,} events/s allow {batch['cpu_budget_us_per_event_at_goal']} us")
        print(f"  the ceiling's CPU per event, after the batch phase: {_us(ceiling_after['cpu_us_per_event'])}")
        print(f"  Neo4j's JVM stopped for GC {_pauses(batch['neo4j_gc_pauses'])}")
        print(f"  Neo4j's log: {_log_events(batch['neo4j_log'])}")
        print(f"3/5 /v1/track at {args.rate} requests/s, {args.seconds:.0f}s after a 3 s warm-up at that rate")
        asyncio.run(track_latency(port, Population(50_000, 4, "w"), args.rate, 3))  # plans and pools warm
        stored_before_track = events_stored(driver)
        cpu = CpuUse(pids, jvm="neo4j")
        api_before = api_metrics(port)
        track = asyncio.run(track_latency(port, Population(50_000, 3, "t"), args.rate, args.seconds, cpu))
        api_after = api_metrics(port)
        track["re_runs"] = counts_between(api_before["re_runs"], api_after["re_runs"])
        track["known_owner_groups"] = counts_between(api_before["known_owners"], api_after["known_owners"])
        track["api_view"] = {name: slower_than(api_before[name], api_after[name], (.025, .1))
                             for name in API_HISTOGRAMS}
        track["events_stored_before"] = stored_before_track
        track["neo4j_gc_pauses"] = neo4j_gc_pauses(args.instance, cpu)
        track["neo4j_log"] = neo4j_log_events(args.instance, cpu)
        track["cpu_cores"] = cpu.cores
        track["cpu_us_per_request"] = cpu.us_per(track["achieved_rps"])
        track["machine_utilisation"] = round(cpu.cores["machine"] / os.cpu_count(), 2)
        print(f"  p50 {track['p50_ms']} ms  p95 {track['p95_ms']} ms  p99 {track['p99_ms']} ms  ({track['achieved_rps']} rps), "
              f"into a graph of {stored_before_track:,} events")
        print(f"  cores used: {_cores(cpu.cores)}: the machine {track['machine_utilisation']:.0%} busy")
        print(f"  CPU per request: {_us(track['cpu_us_per_request'])}")
        print(f"  Neo4j's JVM stopped for GC {_pauses(track['neo4j_gc_pauses'])}")
        print(f"  Neo4j's log: {_log_events(track['neo4j_log'])}")
        print(f"  {_stalls(track['stalls'])}")
        print(f"  in the API: {_api_view(track['api_view'])}")
        print(f"  group transactions re-run: {track['re_runs'] or 'none'}")
        print(f"  groups on remembered owners: {_known_owners(track['known_owner_groups'])}")
    finally:
        api.terminate()
        api.wait(30)

    print(f"4/5 this machine's floors: a bare durable write and the identity floor at {args.rate}/s, "
          "plain event inserts, identity-floor inserts")
    db_name = settings.neo4j_database
    writers = (settings.group_commit_writers, settings.group_commit_max_messages, settings.group_commit_call_writers)
    asyncio.run(durable_write_floor(driver, db_name, args.rate, 2, *writers))  # warm-up
    floor = asyncio.run(durable_write_floor(driver, db_name, args.rate, args.seconds, *writers))
    floor_pop = Population(50_000, 6, "f")
    asyncio.run(identity_write_floor(driver, db_name, track_messages(service, floor_pop, args.rate * 2),
                                     args.rate, *writers))  # warm-up
    identity_latency = asyncio.run(identity_write_floor(
        driver, db_name, track_messages(service, floor_pop, int(args.rate * args.seconds)), args.rate, *writers))
    floor["identity_p50_ms"], floor["identity_p99_ms"] = identity_latency["p50_ms"], identity_latency["p99_ms"]
    cpu_pids = {"neo4j": neo4j_pid(args.instance), "load_generator": os.getpid()}
    groups = prepared_groups(service, pop, 30)
    raw = raw_event_insert(driver, db_name, groups, CpuUse(cpu_pids))
    floor["raw_event_insert_events_per_s"] = raw["events_per_s"]
    floor["raw_event_insert_cpu_us_per_event"] = raw["cpu_us_per_event"]
    identity_floor_insert(driver, db_name, prepared_groups(service, floor_pop, 5), CpuUse(cpu_pids))  # warm-up
    bodies = [{"batch": [floor_pop.message() for _ in range(1000)]} for _ in range(30)]
    prepare_started = time.process_time()
    groups = [service.batch(body, "web") for body in bodies]
    floor["prepare_cpu_us_per_event"] = round((time.process_time() - prepare_started) * 1e6 / 30_000)
    identity = identity_floor_insert(driver, db_name, groups, CpuUse(cpu_pids))
    floor["identity_insert_events_per_s"] = identity["events_per_s"]
    floor["identity_insert_cpu_us_per_event"] = identity["cpu_us_per_event"]
    floor["least_cpu_us_per_event"] = identity["cpu_us_per_event"]["machine"] + floor["prepare_cpu_us_per_event"]
    print(f"  durable write: p50 {floor['p50_ms']} ms  p99 {floor['p99_ms']} ms   "
          f"identity floor: p50 {floor['identity_p50_ms']} ms  p99 {floor['identity_p99_ms']} ms")
    print(f"  plain event inserts: {floor['raw_event_insert_events_per_s']:,} events/s; "
          f"CPU per event: {_us(raw['cpu_us_per_event'])}")
    print(f"  identity-floor inserts: {floor['identity_insert_events_per_s']:,} events/s; "
          f"CPU per event: {_us(identity['cpu_us_per_event'])}")
    print(f"  validating and preparing a message (no HTTP): {floor['prepare_cpu_us_per_event']} us of CPU")
    print(f"  least CPU per event, identity floor + preparing: "
          f"{floor['least_cpu_us_per_event']} us; {os.cpu_count()} cores at {BATCH_GOAL:,} events/s allow "
          f"{round(os.cpu_count() * 1e6 / BATCH_GOAL)} us")

    print(f"5/5 merge time: 10-event profile vs {args.merge_events:,}-event profile (median of 5)")
    merged = merge_times(store, service, (10, args.merge_events), 5)
    small, large = merged[10], merged[args.merge_events]
    ratio = large / small
    print(f"  10 events: {small * 1000:.1f} ms   {args.merge_events:,} events: {large * 1000:.1f} ms   ratio {ratio:.2f}")
    driver.close()

    goals = {
        f"batch_events_per_s>={BATCH_GOAL}": batch["events_per_s"] >= BATCH_GOAL,
        "batch_share_of_ceiling>=0.70": batch["share_of_ceiling"] >= 0.70,
        "track_p99_ms<25_at_500rps": track["p99_ms"] < 25 and track["achieved_rps"] >= 0.95 * args.rate,
        "merge_ratio<=2": ratio <= 2,
    }
    for name, ok in goals.items():
        print(f"  {'PASS' if ok else 'MISS'}  {name}")
    write_results("ingest", {
        "warm_up": warm, "floor": floor, "ceiling_events_per_s": round(ceil),
        "ceiling_writers": ceiling_writers, "batch": batch, "track": track,
        "merge": {"small_events": 10, "small_ms": round(small * 1000, 2), "large_events": args.merge_events,
                  "large_ms": round(large * 1000, 2), "ratio": round(ratio, 2)},
        "goals": goals,
    })


if __name__ == "__main__":
    main()
