"""bench/calls.py compares the ways of writing single calls fairly only if each stores every call
exactly once, and each mode writes the way it says."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from bench.calls import MODES, SNAPSHOT_ONLY, measure
from bench.ingest import Population, track_messages
from tests.helpers import count


@pytest.mark.parametrize("mode", list(MODES))
def test_each_mode_stores_every_call_once(store, service, clean_db, mode):
    # The same people calling again with the same identifiers (the same seed: new messageIds only).
    store.ingest(track_messages(service, Population(300, 4, "cb"), 40))
    messages = track_messages(service, Population(300, 4, "cb"), 40)
    with ThreadPoolExecutor(1) as pool:  # measure() runs a loop; a browser test may leave one on this thread
        run = pool.submit(measure, store, messages, 200, mode, {"bench": None}).result()
    assert run["calls"] == 40 and 1 <= run["groups"] <= 40
    assert run["p99_ms"] >= run["p50_ms"] > 0
    assert count(clean_db, "MATCH (e:Event) RETURN count(e)") == 80
    # Every group carries identifiers already written: on the known owners, unless the mode turns them off.
    assert run["groups_on_known_owners"] == (0 if mode == SNAPSHOT_ONLY else run["groups"])
    # CPU per call carried, over the phase's own length (not the asked rate's pace).
    carried = run["calls"] / run["seconds"]
    assert run["cpu_us_per_call"]["machine"] == pytest.approx(run["cores"]["machine"] * 1e6 / carried, rel=0.02, abs=2)
