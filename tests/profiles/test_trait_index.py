"""The trait-search index filled behind ingest: which events wait for it, the batches that move
them in, and search finding a value before, during and after."""
from __future__ import annotations

from app import db
from app.profiles import trait_index
from app.profiles.search import search_profiles, trait_match
from tests.identity.factory import ingest, msg


def labelled(driver, label: str) -> set[str]:
    """messageIds of the events carrying `label` (one of the two trait-index labels)."""
    statement = {"TraitsPending": "MATCH (e:TraitsPending) RETURN e.messageId AS id",
                 "TraitsIndexed": "MATCH (e:TraitsIndexed) RETURN e.messageId AS id"}[label]
    return {r["id"] for r in driver.execute_query(statement).records}


def found(driver, settings, q: str) -> set[str]:
    return {p["id"] for p in search_profiles(driver, settings.neo4j_database, q)["profiles"]}


def profile_of(driver, key: str) -> str:
    return driver.execute_query("MATCH (:Identifier {key: $key})-[:BELONGS_TO]->(p:Profile) RETURN p.id AS id",
                                key=key).records[0]["id"]


def by_statement(driver, name: str, q: str) -> set[str]:
    lucene, needles = trait_match(q)
    records = driver.execute_query(db.query(name), lucene=lucene, needles=needles, after=None, limit=10).records
    return {r["id"] for r in records}


def test_only_identify_events_with_traits_wait_for_the_index(store, settings, clean_db):
    ingest(store, settings, [
        msg("identify", messageId="with-traits", userId="ann", traits={"city": "Paris"}),
        msg("identify", messageId="no-traits", userId="bob"),
        msg("track", messageId="track", userId="ann", event="Viewed", properties={"city": "Paris"},
            context={"traits": {"city": "Paris"}}),
        msg("page", messageId="page", anonymousId="dev-1", name="Home"),
    ])
    assert labelled(clean_db, "TraitsPending") == {"with-traits"}
    assert labelled(clean_db, "TraitsIndexed") == set()
    assert trait_index.pending_count(clean_db, settings.neo4j_database) == 1


def test_a_trait_value_is_found_whole_in_any_case_before_and_after_indexing(store, settings, clean_db):
    ingest(store, settings, [msg("identify", messageId="z1", userId="zoe", traits={"name": "Zoë Ångström"}),
                             msg("identify", messageId="z2", userId="zed", traits={"name": "Zoë Ångström-Berg"})])
    zoe = profile_of(clean_db, "user_id:zoe")
    for indexed in (False, True):
        if indexed:
            assert trait_index.index_pending(clean_db, settings.neo4j_database) == 2
        assert found(clean_db, settings, "zoë ångström") == {zoe}, indexed
        assert found(clean_db, settings, "ZOË ÅNGSTRÖM") == {zoe}, indexed
        assert found(clean_db, settings, "Zoë") == set(), indexed  # a whole value, not a word of one


def test_search_finds_a_value_before_and_after_its_event_is_indexed(store, settings, clean_db):
    ingest(store, settings, [msg("identify", messageId="m1", userId="ann", traits={"city": "Paris"}),
                             msg("identify", messageId="m2", userId="carl", traits={"city": "Lyon"})])
    ann = profile_of(clean_db, "user_id:ann")
    # Stored, not indexed yet: found through the pending events alone.
    assert found(clean_db, settings, "Paris") == {ann}
    assert by_statement(clean_db, "profiles/search_traits_pending", "Paris") == {ann}
    assert by_statement(clean_db, "profiles/search_traits", "Paris") == set()

    assert trait_index.index_pending(clean_db, settings.neo4j_database) == 2
    assert labelled(clean_db, "TraitsPending") == set()
    assert labelled(clean_db, "TraitsIndexed") == {"m1", "m2"}
    # Indexed: found through the full-text index alone, with the same answer.
    assert found(clean_db, settings, "Paris") == {ann}
    assert by_statement(clean_db, "profiles/search_traits", "Paris") == {ann}
    assert by_statement(clean_db, "profiles/search_traits_pending", "Paris") == set()
    assert trait_index.index_pending(clean_db, settings.neo4j_database) == 0

    # A later identify waits again while the earlier ones stay indexed; search sees both.
    ingest(store, settings, [msg("identify", messageId="m3", userId="bob", traits={"city": "Paris"})])
    assert labelled(clean_db, "TraitsPending") == {"m3"}
    assert found(clean_db, settings, "Paris") == {ann, profile_of(clean_db, "user_id:bob")}


def test_indexing_goes_a_chunk_per_transaction_and_reports_progress(store, settings, clean_db):
    ingest(store, settings, [msg("identify", messageId=f"c{n}", userId=f"u{n}", traits={"team": "blue"})
                             for n in range(7)])
    seen: list[int] = []
    assert trait_index.index_pending(clean_db, settings.neo4j_database, chunk=3, progress=seen.append) == 7
    assert seen == [3, 6, 7]
    assert len(labelled(clean_db, "TraitsIndexed")) == 7
    assert len(found(clean_db, settings, "blue")) == 7


def test_metrics_report_the_events_waiting_for_the_index(client, store, settings, clean_db):
    from app.metrics import TraitIndexBacklog

    ingest(store, settings, [msg("identify", userId=f"m{n}", traits={"plan": "pro"}) for n in range(4)])
    backlog = TraitIndexBacklog()
    assert list(backlog.collect()) == []  # not attached to a driver: left out, not an error
    backlog.attach(clean_db, settings.neo4j_database)
    assert [s.value for f in backlog.collect() for s in f.samples] == [4]
    assert "cdp_trait_index_pending_events 4.0" in client.get("/metrics").text
    trait_index.index_pending(clean_db, settings.neo4j_database)
    assert [s.value for f in backlog.collect() for s in f.samples] == [0]
