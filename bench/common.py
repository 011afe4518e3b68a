"""Shared by the benchmarks: a dedicated Neo4j instance, wiping it, writing results."""
from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import redis
from neo4j import GraphDatabase, Query

from app import db, metrics
from app.auth import Keyring
from app.identity.rules import IdentityRules
from app.identity.store import IdentityStore
from app.ingest.service import IngestService
from app.ingest.writer import split_by_writer
from app.settings import Settings
from tests.helpers import WIPE_GRAPH

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PASSWORD = os.environ.get("CDP_NEO4J_PASSWORD", "cdp-local-password")


def bench_settings(port: int, **overrides) -> Settings:
    return Settings(neo4j_uri=f"bolt://127.0.0.1:{port}", neo4j_password=PASSWORD, log_level="WARNING", **overrides)


def _neo4j_script(action: str, instance: str, port: int, http_port: int) -> None:
    """scripts/neo4j.sh start|stop for one named instance on its own ports."""
    env = {**os.environ, "NEO4J_INSTANCE": instance, "NEO4J_BOLT_PORT": str(port), "NEO4J_HTTP_PORT": str(http_port)}
    subprocess.run([str(ROOT / "scripts" / "neo4j.sh"), action], check=True, env=env)


def start_neo4j(instance: str, port: int, http_port: int) -> None:
    """Start (or reuse) a local Neo4j instance of the benchmarks' own, never the dev one."""
    _neo4j_script("start", instance, port, http_port)


def restart_on_empty_store(instance: str, port: int, http_port: int, database: str = "neo4j") -> None:
    """Restart a benchmark instance on new, empty store files. A Cypher wipe leaves the files as big
    as every earlier run's graph made them (freed records are reused, never given back), so a run on
    a long-used instance measured a larger, sparser store than a run on a new one."""
    if not instance.startswith("bench"):
        raise ValueError(f"only a benchmark instance's store may be thrown away, not {instance!r}")
    _neo4j_script("stop", instance, port, http_port)
    for part in ("databases", "transactions"):  # Neo4j creates its default database again on start
        shutil.rmtree(_instance_dir(instance) / "data" / part / database, ignore_errors=True)
    _neo4j_script("start", instance, port, http_port)


def start_redis(port: int) -> str:
    """Start (or reuse) a local Redis of the benchmarks' own; its URL. The API's post-commit hooks
    (segment upkeep queue, trait push) write to Redis, so a benchmark without one measures their
    connection timeouts instead of the service."""
    subprocess.run([str(ROOT / "scripts" / "redis.sh"), "start"], check=True,
                   env={**os.environ, "REDIS_PORT": str(port)}, timeout=120)
    return f"redis://127.0.0.1:{port}/0"


def fresh_redis(port: int) -> str:
    """`start_redis`, emptied. The service's post-commit hooks queue segment upkeep and touched
    traits in Redis for a worker to drain; a benchmark runs no worker, so without this the queues
    grew over every run, and Redis rewrote them to disk each time its append-only file had doubled,
    in the middle of whatever phase was running."""
    url = start_redis(port)
    client = redis.Redis.from_url(url)
    try:
        client.flushall()
    finally:
        client.close()
    return url


def fresh_graph(settings: Settings):
    """A driver on an empty graph with the schema applied."""
    driver = GraphDatabase.driver(settings.neo4j_uri, auth=(settings.neo4j_user, settings.neo4j_password))
    driver.verify_connectivity()
    with driver.session() as s:
        # The last run's graph can take more than the server's 120 s transaction timeout to delete
        # on a slow machine; the wipe's own timeout is longer.
        s.run(Query(WIPE_GRAPH, timeout=1800)).consume()
    db.apply_schema(driver, settings.neo4j_database)
    return driver


def open_bench_store(instance: str, port: int, redis_port: int, keep_store: bool):
    """The benchmark's own Neo4j (restarted on new, empty store files unless `keep_store`) and
    Redis, an empty graph with the schema applied, and the service's store and ingest service on
    it: (settings, driver, store, service)."""
    http_port = port - 7687 + 7474
    if keep_store:
        start_neo4j(instance, port, http_port)
    else:
        print("restarting the benchmark's Neo4j on an empty store")
        restart_on_empty_store(instance, port, http_port)
    settings = bench_settings(port, redis_url=fresh_redis(redis_port))
    driver = fresh_graph(settings)
    rules = IdentityRules(settings)
    store = IdentityStore(driver, settings.neo4j_database, rules)
    return settings, driver, store, IngestService(settings, Keyring(settings), rules)


def add_store_arguments(ap, warm_up_limit: float = 300) -> None:
    """The options every benchmark on its own Neo4j and Redis takes."""
    ap.add_argument("--port", type=int, default=7689, help="bolt port of the benchmark Neo4j instance")
    ap.add_argument("--instance", default="bench")
    ap.add_argument("--redis-port", type=int, default=6391, help="the benchmark's own Redis")
    ap.add_argument("--keep-store", action="store_true",
                    help="reuse the running instance and its store files (only the graph is wiped)")
    ap.add_argument("--warm-up-limit", type=float, default=warm_up_limit, help="seconds the warm-up may take at most")


def routed_groups(messages: list, writers: int, size: int) -> list[list[list]]:
    """Prepared messages as the service's writers carry them: each writer the messages the
    service's routing (`split_by_writer`) gives it, in groups of `size`."""
    parts = split_by_writer(messages, writers)
    per_writer = [parts.get(n, []) for n in range(writers)]
    return [[part[i:i + size] for i in range(0, len(part), size)] for part in per_writer]


def write_in_threads(store, per_writer: list[list[list]], pids: dict[str, int | None]) -> dict:
    """Each writer's groups through `store.ingest` on a thread of its own, as the service's writers
    run them; the events/s of all of them, and the cores each process (`pids`) used and its CPU per
    event."""
    events = sum(len(g) for groups in per_writer for g in groups)
    threads = [threading.Thread(target=lambda gs=groups: [store.ingest(g) for g in gs]) for groups in per_writer]
    cpu = CpuUse(pids, jvm="neo4j").start()
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    cores = cpu.stop()
    rate = round(events / elapsed)
    return {"events_per_s": rate, "cores": cores, "cpu_us_per_event": cpu.us_per(rate)}


def _instance_dir(instance: str) -> Path:
    cache = Path(os.environ.get("CDP_CACHE_DIR", Path.home() / ".cache" / "cdp"))
    return cache / "neo4j-instances" / instance


def neo4j_pid(instance: str) -> int | None:
    """The pid of a Neo4j instance started by scripts/neo4j.sh, from its pid file."""
    try:
        return int((_instance_dir(instance) / "run" / "neo4j.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def _cpu_ticks(stat: Path) -> int:
    """User + system clock ticks from a /proc stat file (a process's or one of its threads')."""
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc; all its threads)."""
    return _cpu_ticks(Path(f"/proc/{pid}/stat")) / os.sysconf("SC_CLK_TCK")


def neo4j_cpu_seconds(pid: int | None) -> float:
    """Neo4j's CPU seconds so far; 0 when its process is unknown (tests run on an instance of theirs)."""
    return cpu_seconds(pid) if pid else 0.0


def ingest_timed(store: IdentityStore, groups: list[list], neo4j: int | None) -> dict:
    """Each group through `store.ingest` in turn: each group's time (`times_ms`), and over all of
    them the wall time, Neo4j's CPU (see neo4j_cpu_seconds) and this process's CPU, in seconds."""
    times = []
    neo4j0, own0, wall0 = neo4j_cpu_seconds(neo4j), time.process_time(), time.perf_counter()
    for g in groups:
        t = time.perf_counter()
        store.ingest(g)
        times.append((time.perf_counter() - t) * 1000)
    return {"times_ms": times, "wall_s": time.perf_counter() - wall0,
            "neo4j_cpu_s": neo4j_cpu_seconds(neo4j) - neo4j0, "own_cpu_s": time.process_time() - own0}


def machine_busy_seconds() -> float:
    """CPU time the whole machine has spent busy so far, all cores (Linux /proc/stat): user, nice,
    system, irq, softirq and steal; idle and iowait are not busy."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


# HotSpot names its JIT compiler threads "C1 CompilerThread0", "C2 CompilerThread1"… (comm keeps 15 chars).
_JIT_THREAD = re.compile(r"^C\d CompilerThre")


def jit_compiler_seconds(pid: int) -> float:
    """CPU time a JVM's JIT compiler threads have used so far: a freshly started Neo4j compiles its
    hot paths for minutes, on the same cores the service needs, so this tells start-up from steady state."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            if _JIT_THREAD.match((task / "comm").read_text()):
                total += _cpu_ticks(task / "stat")
        except OSError:  # the thread ended while we looked
            continue
    return total / os.sysconf("SC_CLK_TCK")


class CpuUse:
    """Cores each named process used between start() and stop(), and the whole machine's busy
    cores (`machine`): where a 2-core machine's time goes while a phase runs (1.0 = one core busy
    the whole time). `started_at` and `stopped_at` bound the phase in wall-clock time, for logs."""

    def __init__(self, pids: dict[str, int | None], jvm: str | None = None):
        self.pids = {name: pid for name, pid in pids.items() if pid}
        # The named process is a JVM: also report its JIT compiler's share (`<name>_jit`, part of it).
        self.jvm = jvm if jvm in self.pids else None
        self.cores: dict[str, float] = {}

    def start(self) -> CpuUse:
        self.started_at = datetime.now(UTC)
        self._t0 = time.perf_counter()
        self._cpu0 = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        self._machine0 = machine_busy_seconds()
        self._jit0 = jit_compiler_seconds(self.pids[self.jvm]) if self.jvm else 0.0
        return self

    def stop(self) -> dict[str, float]:
        self.elapsed = elapsed = time.perf_counter() - self._t0
        self.cores = {name: round((cpu_seconds(pid) - self._cpu0[name]) / elapsed, 2)
                      for name, pid in self.pids.items()}
        if self.jvm:
            self.cores[f"{self.jvm}_jit"] = round((jit_compiler_seconds(self.pids[self.jvm]) - self._jit0) / elapsed, 2)
        self.cores["machine"] = round((machine_busy_seconds() - self._machine0) / elapsed, 2)
        self.stopped_at = datetime.now(UTC)
        return self.cores

    def us_per(self, units_per_second: float) -> dict[str, int]:
        """CPU microseconds each process (and the machine) spent per unit of work (event, request)."""
        return {name: round(cores * 1e6 / units_per_second) for name, cores in self.cores.items()}


# A pause line of the GC log scripts/neo4j.sh has the JVM write, e.g.
# [2026-11-30T14:40:31.778+0000][2293.638s][info][gc          ] GC(1478) Pause Remark 136M->135M(1024M) 83.420ms
_GC_PAUSE = re.compile(r"^\[(\S+?)\]\[[^]]*\]\[info\]\[gc\s*\] GC\(\d+\) Pause .* ([\d.]+)ms$")


def _neo4j_log_lines(instance: str, pattern: str):
    """Every line of a Neo4j instance's log files named by `pattern` (the log and its rotated files)."""
    for path in sorted((_instance_dir(instance) / "logs").glob(pattern)):
        yield from path.read_text(errors="replace").splitlines()


def neo4j_gc_pauses(instance: str, phase: CpuUse) -> dict:
    """Stop-the-world pauses of a Neo4j instance's JVM while a measured phase ran, from its GC log
    (and the log's rotated files): every request in flight waits out each of them."""
    since, until = phase.started_at, phase.stopped_at
    pauses = []
    for line in _neo4j_log_lines(instance, "gc.log*"):
        m = _GC_PAUSE.match(line)
        if m and since <= datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f%z") <= until:
            pauses.append(float(m.group(2)))
    return {"count": len(pauses), "total_ms": round(sum(pauses)),
            "longest_ms": round(max(pauses, default=0.0), 1)}


# Lines of a Neo4j instance's debug.log that stall or slow the transactions in flight, e.g.
# 2026-12-01 11:30:23.797+0000 INFO  [o.n.k.i.t.l.c.CheckPointerImpl] [neo4j/ce6e7521] Checkpoint triggered by
# "Scheduled checkpoint for every 15 minutes threshold" @ txId: 14808, … checkpoint completed in 1s 722ms. …
_DEBUG_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}[+-]\d{4}) ")
_CHECKPOINT_DONE = re.compile(r"\[neo4j/\w+\] Checkpoint triggered by .* checkpoint completed in ((?:\d+\w+ ?)+)\.")
_DURATION_PART = re.compile(r"(\d+)(ms|s|m|h)")
_MS_PER_UNIT = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}


def _duration_ms(text: str) -> int:
    """'1s 722ms' -> 1722: how Neo4j's debug log writes a duration."""
    return sum(int(n) * _MS_PER_UNIT[unit] for n, unit in _DURATION_PART.findall(text))


def neo4j_log_events(instance: str, phase: CpuUse) -> dict:
    """What a Neo4j instance's debug log says happened while a measured phase ran: queries replanned
    (each replan holds the writer whose statement it is), transaction log rotations, and checkpoints
    that overlapped the phase, with how long each took (a checkpoint flushes the page cache's dirty
    pages while transactions go on committing)."""
    since, until = phase.started_at, phase.stopped_at
    replans, rotations, checkpoints = 0, 0, []
    for line in _neo4j_log_lines(instance, "debug.log*"):
        m = _DEBUG_LINE.match(line)
        if not m:
            continue
        at = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f%z")
        done = _CHECKPOINT_DONE.search(line)
        if done:
            took = _duration_ms(done.group(1))
            if at >= since and at.timestamp() - took / 1000 <= until.timestamp():
                checkpoints.append({"ended_at": at.isoformat(timespec="milliseconds"), "ms": took})
        elif since <= at <= until:
            replans += "Discarded stale query from the query cache" in line
            rotations += "Rotated to transaction log" in line
    return {"replans": replans, "log_rotations": rotations, "checkpoints": checkpoints}


def reference_loop_ms() -> float:
    """A fixed pure-Python workload (best of 5): how fast this machine's cores are, so figures
    written on different machines of the same size can be compared."""
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        sum(range(10**6))
        best = min(best, time.perf_counter() - started)
    return round(best * 1000, 1)


def known_owner_groups_written() -> float:
    """Groups this process's stores wrote on known owners so far (app/identity/known_owners.py)."""
    return sum(s.value for m in metrics.KNOWN_OWNER_GROUPS.collect() for s in m.samples
               if s.name.endswith("_total") and s.labels["outcome"] == "written")


def write_results(name: str, figures: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    doc = {"benchmark": name, "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                       "reference_loop_ms": reference_loop_ms()}, **figures}
    path.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {path.relative_to(ROOT)}")
    return path


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def stalls(samples: list[tuple[float, float]], threshold_ms: float = 100, keep: int = 5) -> dict:
    """Requests slower than `threshold_ms`, grouped into stalls: slow requests whose time in flight
    overlaps are one stall. `samples` are (sent at, Unix seconds; latency, ms). Returns how many
    requests were slow, how many stalls they made, and the `keep` longest stalls with their
    wall-clock start, to be matched against the API's and Neo4j's logs."""
    slow = sorted((sent, sent + latency / 1000, latency) for sent, latency in samples if latency > threshold_ms)
    groups: list[dict] = []
    for start, end, latency in slow:
        if groups and start <= groups[-1]["_end"]:
            g = groups[-1]
            g["_end"] = max(g["_end"], end)
            g["requests"] += 1
            g["longest_ms"] = max(g["longest_ms"], round(latency, 1))
        else:
            groups.append({"_start": start, "_end": end, "requests": 1, "longest_ms": round(latency, 1)})
    for g in groups:
        g["started_at"] = datetime.fromtimestamp(g["_start"], UTC).isoformat(timespec="milliseconds")
        g["span_ms"] = round((g.pop("_end") - g.pop("_start")) * 1000)
    longest = sorted(groups, key=lambda g: -g["span_ms"])[:keep]
    return {"threshold_ms": threshold_ms, "slow_requests": len(slow), "stalls": len(groups),
            "longest": [{k: g[k] for k in ("started_at", "span_ms", "requests", "longest_ms")} for g in longest]}
