"""The trait-search index, filled in batches behind ingest.

An identify event with traits is stored with the label :TraitsPending; this moves pending events
to :TraitsIndexed, which the full-text index `identify_traits` covers, a chunk per transaction.
Lucene updates and refreshes its searcher on every commit that touches the index: in the ingest
transaction that cost several milliseconds of Neo4j CPU per group holding an identify call, where
one batch here pays it once for thousands of events. Search reads the pending events too
(`profiles/search_traits_pending`), so a value is found from the moment its event is stored.
"""
from __future__ import annotations

from collections.abc import Callable

from neo4j import Driver

from app.db import query

DEFAULT_CHUNK = 5000


def pending_count(driver: Driver, database: str) -> int:
    records, _, _ = driver.execute_query(query("profiles/count_pending_traits"), database_=database)
    return records[0]["pending"]


def index_pending(driver: Driver, database: str, chunk: int = DEFAULT_CHUNK,
                  progress: Callable[[int], None] | None = None) -> int:
    """Index every pending event, a chunk per transaction; `progress(total so far)` after each.
    Returns how many were indexed. Safe beside ingest (each chunk takes what is committed as
    pending) and beside another run of itself: both may relabel the same event, which sets the
    same labels again (the count then includes it twice)."""
    total = 0
    while True:
        records, _, _ = driver.execute_query(query("profiles/index_pending_traits"), chunk=chunk,
                                             database_=database)
        indexed = records[0]["indexed"]
        total += indexed
        if progress is not None and indexed:
            progress(total)
        if indexed < chunk:
            return total
