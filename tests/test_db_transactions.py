"""Explicit transactions whose BEGIN travels with their first statement (app.db.begin_pipelined),
and the parameter maps ingest statements send (app.db.Rows)."""
import logging
import uuid

import pytest
from neo4j.exceptions import ClientError

from app.db import Rows, begin_pipelined

MISSING_DATABASE = "nosuchdatabase"


@pytest.mark.parametrize("finish, kept", [("commit", 1), ("rollback", 0)])
def test_a_pipelined_transaction_commits_or_rolls_back(driver, clean_db, finish, kept):
    key = uuid.uuid4().hex
    with driver.session() as session, begin_pipelined(session) as tx:
        tx.run("CREATE (:PipelinedProbe {key: $key})", key=key).consume()
        getattr(tx, finish)()
    records, _, _ = driver.execute_query("MATCH (n:PipelinedProbe {key: $key}) RETURN count(n) AS n", key=key)
    assert records[0]["n"] == kept


def test_begin_is_not_a_round_trip_of_its_own(driver):
    """BEGIN on a database that does not exist fails in Neo4j. Sent with the first statement, the
    failure surfaces there, not at begin: proof that begin waited for no answer. A plain begin
    (what a driver without the internal flag gets) fails at begin, and so would this test."""
    with driver.session(database=MISSING_DATABASE) as session:
        tx = begin_pipelined(session)
        with pytest.raises(ClientError):
            tx.run("RETURN 1").consume()
        tx.close()
    with driver.session(database=MISSING_DATABASE) as session, pytest.raises(ClientError):
        session.begin_transaction()


def test_rows_reach_neo4j_whole_and_the_drivers_run_log_stays_short(driver, caplog):
    """The driver formats each RUN's parameters for its debug log, enabled or not. Rows keeps that
    line short however many rows travel, and the rows arrive as a plain map would."""
    rows = [{"key": f"k{n}", "n": n, "tags": ["a", "b"], "nested": {"x": None}} for n in range(1000)]
    with caplog.at_level(logging.DEBUG, logger="neo4j"):
        for batch in ({"rows": rows}, Rows(rows=rows)):
            records, _, _ = driver.execute_query("RETURN $batch AS batch", batch=batch)
            assert records[0]["batch"] == {"rows": rows}
    runs = [r.getMessage() for r in caplog.records if "C: RUN" in r.getMessage() and "$batch AS batch" in r.getMessage()]
    assert len(runs) == 2
    assert len(runs[0]) > 50_000  # the plain map: every row, formatted
    assert len(runs[1]) < 300 and "<Rows: 1 parameters>" in runs[1]
