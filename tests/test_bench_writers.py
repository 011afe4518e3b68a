"""bench/writers.py compares its three ways of feeding writers fairly only if each mode writes the
same number of messages, and the routed mode gives every writer only the messages the service's
own routing sends it; and its timed write stores every message it was given."""
from __future__ import annotations

from app.ingest.writer import shard_of
from bench.common import write_in_threads
from bench.ingest import Population
from bench.writers import MODES, groups_for
from tests.helpers import count


def test_every_mode_writes_as_many_messages_and_routed_writers_get_only_their_own(service):
    sizes = {}
    for mode in MODES:
        per_writer = groups_for(mode, service, Population(500, 1, "w"), groups=3, size=40)
        sizes[mode] = sum(len(g) for groups in per_writer for g in groups)
        assert all(len(g) <= 40 for groups in per_writer for g in groups)
        assert len(per_writer) == (1 if mode == "one writer" else 2)
    assert set(sizes.values()) == {240}
    routed = groups_for(MODES[2], service, Population(500, 1, "w"), groups=3, size=40)
    for n, groups in enumerate(routed):
        assert groups and {shard_of(m, 2) for g in groups for m in g} == {n}


def test_the_timed_write_stores_every_message_of_every_writer(store, service, clean_db):
    per_writer = groups_for(MODES[2], service, Population(200, 2, "w"), groups=2, size=25)
    result = write_in_threads(store, per_writer, {"neo4j": None})
    assert result["events_per_s"] > 0 and "machine" in result["cores"]
    assert count(clean_db, "MATCH (e:Event) RETURN count(e)") == 100


def test_the_ingest_ceiling_writes_every_event_through_the_services_writers(store, service, clean_db):
    from bench.ingest import ceiling

    result = ceiling(store, service, Population(300, 3, "w"), events=200, batch=50, writers=2)
    assert result["events_per_s"] > 0
    # The writer threads' CPU per event: this process's, so never missing, and never nothing.
    assert result["cpu_us_per_event"]["writers"] > 0 and "machine" in result["cpu_us_per_event"]
    assert count(clean_db, "MATCH (e:Event) RETURN count(e)") == 200
