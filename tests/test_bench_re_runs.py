"""bench/ingest.py's count of group transactions re-run in a phase: the API's counters read before
and after it, per reason, leaving out reasons that did not move."""
from bench.ingest import re_runs_between


def test_re_runs_in_a_phase_are_the_counters_moves_by_reason():
    before = {"deadlock": 2.0, "stale_snapshot": 1.0}
    after = {"deadlock": 5.0, "stale_snapshot": 1.0, "stored_concurrently": 1.0}
    assert re_runs_between(before, after) == {"deadlock": 3, "stored_concurrently": 1}
    assert re_runs_between(after, after) == {}
