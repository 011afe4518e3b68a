"""bench/known_owners.py compares the two ways of writing a visitor's calls fairly only if both
store every call once, and each writes the way its mode says, for returning and new visitors."""
from __future__ import annotations

from app.identity.store import IdentityStore
from bench.known_owners import GROUP, KNOWN, MODES, SNAPSHOT, groups_for, measure
from tests.helpers import count


def test_both_modes_store_every_call_once_each_the_way_it_says(store, service, clean_db):
    stores = {KNOWN: store, SNAPSHOT: IdentityStore(clean_db, store.database, store.rules, known_owners=0)}
    assert len(MODES) == 4
    for seed, (visitors, mode) in enumerate(MODES):
        groups = groups_for(visitors, store, service, seed, 5)
        assert [len(g) for g in groups] == [GROUP] * 5
        before = count(clean_db, "MATCH (e:Event) RETURN count(e)")
        run = measure(stores[mode], groups, None)
        assert count(clean_db, "MATCH (e:Event) RETURN count(e)") - before == 5 * GROUP
        assert run["groups"] == 5 and run["on_known_owners"] == (5 if mode == KNOWN else 0)
        assert run["group_p99_ms"] >= run["group_p50_ms"] > 0 and run["neo4j_cpu_us_per_group"] is None
