"""Explicit transactions whose BEGIN travels with their first statement (app.db.begin_pipelined)."""
import uuid

import pytest
from neo4j.exceptions import ClientError

from app.db import begin_pipelined

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
