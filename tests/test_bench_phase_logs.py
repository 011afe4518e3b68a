"""What the ingest benchmark reports about a phase besides its figures: the stalls among its
requests (slow requests whose time in flight overlaps), and what Neo4j's debug log says happened
while the phase ran (checkpoints, replans, log rotations); and that it starts on an empty Redis."""
from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
import redis

from bench.common import CpuUse, fresh_redis, neo4j_log_events, neo4j_pid, stalls
from tests.helpers import free_port


def test_overlapping_slow_requests_make_one_stall():
    samples = [(100.0, 5), (100.01, 150), (100.05, 120), (100.5, 300), (101.0, 20), (105.0, 101)]
    result = stalls(samples, threshold_ms=100)
    assert result["slow_requests"] == 4 and result["stalls"] == 3
    longest = result["longest"]
    assert [g["span_ms"] for g in longest] == [300, 160, 101]  # the longest first
    assert longest[1] == {"started_at": "1970-01-01T00:01:40.010+00:00", "span_ms": 160, "requests": 2,
                          "longest_ms": 150}


def test_no_slow_request_is_no_stall():
    assert stalls([(1.0, 10), (2.0, 99.9)], threshold_ms=100) == {
        "threshold_ms": 100, "slow_requests": 0, "stalls": 0, "longest": []}


def test_only_the_longest_stalls_are_kept():
    samples = [(float(n), 200 + n) for n in range(10)]
    result = stalls(samples, keep=3)
    assert result["stalls"] == 10 and [g["longest_ms"] for g in result["longest"]] == [209, 208, 207]


def _phase(started_at: datetime, stopped_at: datetime) -> CpuUse:
    phase = CpuUse({})
    phase.started_at, phase.stopped_at = started_at, stopped_at
    return phase


# Lines as Neo4j 5.26 writes them (abridged where marked …).
_DEBUG_LOG = """\
2026-12-01 11:00:01.000+0000 INFO  [o.n.c.i.c.CypherQueryCaches] [neo4j/ce6e7521] Discarded stale query from the query cache after 32 seconds. Reason: …
2026-12-01 11:00:05.000+0000 INFO  [o.n.k.d.Database] [neo4j/ce6e7521] Rotated to transaction log [/x/neostore.transaction.db.2] version=1, rotation took 39 millis.
2026-12-01 11:00:09.000+0000 INFO  [o.n.k.i.t.l.c.CheckPointerImpl] [neo4j/ce6e7521] Checkpoint triggered by "Scheduled checkpoint for every 15 minutes threshold" @ txId: 14808, append index: 14808 checkpoint started...
2026-12-01 11:00:10.722+0000 INFO  [o.n.k.i.t.l.c.CheckPointerImpl] [neo4j/ce6e7521] Checkpoint triggered by "Scheduled checkpoint for every 15 minutes threshold" @ txId: 14808, append index: 14808 checkpoint completed in 1s 722ms. Checkpoint flushed 47158 pages (36% of total available pages), in 31592 IOs.
2026-12-01 11:00:10.800+0000 INFO  [o.n.k.i.t.l.c.CheckPointerImpl] [system/00000000] Checkpoint triggered by "Database shutdown" @ txId: 41, append index: 41 checkpoint completed in 19ms. Checkpoint flushed 28 pages.
                                                                [neo4j/ce6e7521]  - last checkpoint: CheckpointInfo[… reason=Checkpoint triggered by "Database shutdown" …]
2026-12-01 11:20:00.000+0000 INFO  [o.n.c.i.c.CypherQueryCaches] [neo4j/ce6e7521] Discarded stale query from the query cache after 10 seconds. Reason: …
"""


def _at(minute: int, second: float) -> datetime:
    return datetime(2026, 12, 1, 11, minute, 0, tzinfo=UTC) + timedelta(seconds=second)


def test_a_phase_counts_what_neo4j_logged_while_it_ran(tmp_path, monkeypatch):
    monkeypatch.setenv("CDP_CACHE_DIR", str(tmp_path))
    logs = tmp_path / "neo4j-instances" / "bench-x" / "logs"
    logs.mkdir(parents=True)
    (logs / "debug.log").write_text(_DEBUG_LOG)
    events = neo4j_log_events("bench-x", _phase(_at(0, 0), _at(1, 0)))
    # The user database's checkpoint only (not the system database's), with its length.
    assert events == {"replans": 1, "log_rotations": 1,
                      "checkpoints": [{"ended_at": "2026-12-01T11:00:10.722+00:00", "ms": 1722}]}
    # A checkpoint that began before the phase and ended in it slowed the phase too.
    assert neo4j_log_events("bench-x", _phase(_at(0, 10), _at(0, 20)))["checkpoints"][0]["ms"] == 1722
    assert neo4j_log_events("bench-x", _phase(_at(0, 11), _at(19, 0))) == {
        "replans": 0, "log_rotations": 0, "checkpoints": []}


def test_the_checkpoint_of_a_neo4j_start_is_read_from_its_real_debug_log(servers):
    instance = os.environ.get("CDP_TEST_INSTANCE", "test")
    if neo4j_pid(instance) is None:
        pytest.skip("Neo4j runs in a container here, not as a local process")
    # Every start of a database ends with a checkpoint ("Database init completed").
    since_ever = _phase(datetime(2000, 1, 1, tzinfo=UTC), datetime.now(UTC))
    checkpoints = neo4j_log_events(instance, since_ever)["checkpoints"]
    assert checkpoints and all(c["ms"] >= 0 for c in checkpoints)


def test_a_benchmark_starts_on_an_empty_redis(tmp_path, monkeypatch):
    monkeypatch.setenv("CDP_CACHE_DIR", str(tmp_path))  # a throwaway Redis's files
    port = free_port()
    url = fresh_redis(port)
    client = redis.Redis.from_url(url)
    try:
        client.zadd("cdp:segments:dirty", {"profile-1": 1})  # what the last run's hooks left queued
        assert fresh_redis(port) == url  # the same, running, Redis
        assert client.dbsize() == 0
    finally:
        client.shutdown(nosave=True)
        client.close()
