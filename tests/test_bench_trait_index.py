"""bench/trait_index.py compares the two ways of keeping the trait-search index only if its modes
really differ by the earlier index alone, its timed groups store every message, and the worker's
batch it times indexes what the round left pending."""
from __future__ import annotations

from bench.ingest import Population
from bench.trait_index import AT_COMMIT, BEHIND, groups_of, set_mode, timed_groups, timed_indexing
from tests.helpers import count, index_names


def test_modes_differ_by_the_earlier_index_and_every_message_is_stored(store, service, clean_db, settings):
    try:
        set_mode(clean_db, store, service, AT_COMMIT, seed=1, settle=(2, 0))
        assert {"event_traits", "identify_traits"} <= index_names(clean_db)
        run = timed_groups(store, groups_of(service, Population(300, 2, "t"), 5, 8), neo4j=None)
        assert (run["messages"], run["groups"]) == (40, 5) and run["group_p99_ms"] >= run["group_p50_ms"] > 0
        set_mode(clean_db, store, service, BEHIND, seed=3, settle=(2, 0))
        assert "event_traits" not in index_names(clean_db) and "identify_traits" in index_names(clean_db)
    finally:
        clean_db.execute_query("DROP INDEX event_traits IF EXISTS")
    assert count(clean_db, "MATCH (e:Event) RETURN count(e)") == 72  # two settles of two groups of 8, and the 40
    pending = count(clean_db, "MATCH (e:TraitsPending) RETURN count(e)")
    batch = timed_indexing(clean_db, settings.neo4j_database, neo4j=None)
    assert batch["indexed"] == pending and count(clean_db, "MATCH (e:TraitsPending) RETURN count(e)") == 0
