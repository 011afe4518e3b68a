"""bench/contention.py's round: every process's messages are stored, the re-runs its processes
counted are summed, and the people check compares the graph with the workload."""
from __future__ import annotations

from argparse import Namespace

import pytest

from bench.contention import run_round
from tests.helpers import count


def test_a_round_stores_every_message_and_sums_the_processes_re_runs(settings, clean_db):
    args = Namespace(processes=3, people=2, messages=6)
    r = run_round(settings, clean_db, args, seed=7)
    assert r["messages_stored"] == 18 == count(clean_db, "MATCH (e:Event) RETURN count(e)")
    assert r["groups"] >= 3 and r["groups_gave_up"] == 0
    assert r["re_runs"] == sum(r["re_runs_by_reason"].values())
    assert r["one_profile_per_person"] is True
    assert 0 < r["group_p99_seconds"] <= r["slowest_group_seconds"] <= r["seconds"]


def test_a_process_that_fails_ends_the_round_with_its_error_at_once(settings, clean_db):
    # No people to write about: every process fails while building its workload, before the start.
    with pytest.raises(RuntimeError, match=r"process \d: ValueError"):
        run_round(settings, clean_db, Namespace(processes=2, people=0, messages=1), seed=7)
