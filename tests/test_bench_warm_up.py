"""The ingest benchmark measures a warmed service on a new store: it may start only once Neo4j's
JIT compiler has gone quiet and the rate has settled, it reads the compiler's CPU from the JVM's own
threads, and it throws away store files only of a benchmark instance."""
from __future__ import annotations

import os

import pytest

from bench.common import jit_compiler_seconds, neo4j_pid, restart_on_empty_store
from bench.ingest import api_warm_up, warm_up_settled


def _window(rate: int, jit: float | None) -> dict:
    return {"events_per_s": rate, "neo4j_jit_cores": jit}


def test_one_window_is_never_settled():
    assert not warm_up_settled([_window(2000, 0.0)], 0.15, 0.05)


def test_settled_when_the_rate_agrees_and_the_jit_is_quiet():
    assert warm_up_settled([_window(2000, 0.3), _window(2200, 0.05)], 0.15, 0.05)


def test_a_busy_jit_keeps_warming_however_steady_the_rate():
    assert not warm_up_settled([_window(2000, 0.3), _window(2000, 0.06)], 0.15, 0.05)


def test_a_moving_rate_keeps_warming_however_quiet_the_jit():
    assert not warm_up_settled([_window(1500, 0.0), _window(2000, 0.0)], 0.15, 0.05)


def test_two_windows_collapsed_alike_are_not_settled():
    windows = [_window(2000, 0.2), _window(2100, 0.1), _window(900, 0.0), _window(950, 0.0)]
    assert not warm_up_settled(windows, 0.15, 0.05)
    assert warm_up_settled(windows + [_window(1900, 0.0), _window(1950, 0.0)], 0.15, 0.05)


def test_a_rate_that_settles_a_little_below_its_best_is_settled():  # the graph grows as it warms
    assert warm_up_settled([_window(2000, 0.2), _window(1800, 0.0), _window(1750, 0.0)], 0.15, 0.05)


def test_without_a_known_jvm_only_the_rate_counts():
    assert warm_up_settled([_window(2000, None), _window(1900, None)], 0.15, 0.05)


def _test_neo4j_pid() -> int:
    pid = neo4j_pid(os.environ.get("CDP_TEST_INSTANCE", "test"))
    if pid is None:
        pytest.skip("Neo4j runs in a container here, not as a local process")
    return pid


def test_jit_compiler_time_is_read_from_the_neo4j_jvm(servers):
    assert jit_compiler_seconds(_test_neo4j_pid()) > 0  # a Neo4j that has answered queries has compiled code


def test_a_process_without_a_jit_has_no_compiler_time():
    assert jit_compiler_seconds(os.getpid()) == 0.0


@pytest.mark.parametrize("instance", ["dev", "test", "test-lead"])
def test_only_a_benchmark_instance_store_is_thrown_away(instance):
    with pytest.raises(ValueError, match="benchmark instance"):
        restart_on_empty_store(instance, 1, 2)


def test_the_api_warm_up_stops_at_the_first_round_with_a_quiet_jit(servers, driver):
    calls = []
    result = api_warm_up(lambda: calls.append(driver.execute_query("RETURN 1")), _test_neo4j_pid(),
                         jit_quiet=2.0, limit_s=60)  # 2 cores: any real reading is at most 2.0
    assert len(calls) == len(result["rounds"]) == 1 and result["settled"]
    assert result["rounds"][0]["neo4j_jit_cores"] is not None


def test_the_api_warm_up_gives_up_at_its_limit_while_the_jit_is_busy(servers, driver):
    calls = []
    result = api_warm_up(lambda: calls.append(driver.execute_query("RETURN 1")), _test_neo4j_pid(),
                         jit_quiet=-1.0, limit_s=0.5)  # never quiet enough
    assert len(calls) == len(result["rounds"]) >= 1 and not result["settled"]


def test_without_a_known_jvm_the_api_warm_up_is_one_round():
    calls = []
    result = api_warm_up(lambda: calls.append(1), None, limit_s=60)
    assert calls == [1] and result["rounds"] == [{"neo4j_jit_cores": None}] and result["settled"]
