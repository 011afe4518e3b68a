"""bench/ingest.py's counts over a phase (group transactions re-run, groups on remembered owners): the
API's counters read before and after it, per label, leaving out labels that did not move."""
from bench.ingest import counts_between


def test_re_runs_in_a_phase_are_the_counters_moves_by_reason():
    before = {"deadlock": 2.0, "stale_snapshot": 1.0}
    after = {"deadlock": 5.0, "stale_snapshot": 1.0, "stored_concurrently": 1.0}
    assert counts_between(before, after) == {"deadlock": 3, "stored_concurrently": 1}
    assert counts_between(after, after) == {}
