"""Schema application on the real Neo4j: idempotent, and it removes indexes earlier versions made."""
from __future__ import annotations

from app import db
from bench.trait_index import EARLIER_INDEX
from tests.helpers import index_names, plan_operators

RETIRED = ("event_name", "event_type")
OLD_INDEXES = ("CREATE INDEX event_name IF NOT EXISTS FOR (e:Event) ON (e.event)",
               "CREATE INDEX event_type IF NOT EXISTS FOR (e:Event) ON (e.type)")


def test_applying_the_schema_drops_retired_indexes_and_is_idempotent(driver, settings):
    for statement in OLD_INDEXES:  # a graph an earlier version set up
        driver.execute_query(statement)
    assert set(RETIRED) <= index_names(driver)
    db.apply_schema(driver, settings.neo4j_database)
    after = index_names(driver)
    assert not set(RETIRED) & after
    assert {"event_ts", "event_identifier_ts", "event_identifier_event_ts", "event_message_id"} <= after
    db.apply_schema(driver, settings.neo4j_database)
    assert index_names(driver) == after


def test_top_events_reads_its_time_window_through_the_event_time_index(driver, settings):
    db.apply_schema(driver, settings.neo4j_database)
    plan = driver.execute_query("EXPLAIN " + db.query("stats/top_events"),
                                since=1_763_600_000_000, until=1_763_700_000_000, limit=10).summary.plan
    seeks = [(op, details) for op, details in plan_operators(plan) if op.startswith("NodeIndex")]
    assert len(seeks) == 1 and seeks[0][0] == "NodeIndexSeekByRange" and "e:Event(ts)" in seeks[0][1], seeks


def test_events_of_the_old_traits_index_wait_for_the_new_one(store, settings, driver):
    from app.profiles.search import search_profiles
    from tests.identity.factory import ingest, msg

    ingest(store, settings, [msg("identify", messageId="old-1", userId="ann", traits={"city": "Paris"}),
                             msg("track", messageId="old-2", userId="ann", event="Viewed")])
    # As an earlier version stored them: no trait-index label, and its index on every event's traits.
    driver.execute_query("MATCH (e:Event) REMOVE e:TraitsPending")
    driver.execute_query(EARLIER_INDEX)  # the statement earlier versions ran
    driver.execute_query("CALL db.awaitIndexes(60)")
    db.apply_schema(driver, settings.neo4j_database)
    after = index_names(driver)
    assert "event_traits" not in after and "identify_traits" in after
    pending = {r["id"] for r in driver.execute_query("MATCH (e:TraitsPending) RETURN e.messageId AS id").records}
    assert pending == {"old-1"}
    assert len(search_profiles(driver, settings.neo4j_database, "Paris")["profiles"]) == 1
    db.apply_schema(driver, settings.neo4j_database)  # nothing left to migrate
    assert index_names(driver) == after
