"""With Neo4j unreachable, ingest answers 503 with Retry-After quickly instead of hanging, and a
failed group is not retried request by request (which would hold the queue for longer)."""
import time

from neo4j import GraphDatabase

import app.identity.store as store_module
from tests.helpers import basic


def test_ingest_answers_503_with_retry_after_when_neo4j_is_away(client, settings, monkeypatch):
    monkeypatch.setattr(store_module, "RETRY_SECONDS", 0.5)
    services = client.app.state.services
    live_driver = services.writer.store.driver
    # A real driver to a port nothing listens on: the database is simply not there.
    away = GraphDatabase.driver("bolt://127.0.0.1:9", auth=("neo4j", "x"), connection_acquisition_timeout=1,
                                connection_timeout=1)
    services.writer.store.driver = away
    try:
        started = time.monotonic()
        r = client.post("/v1/batch", json={"batch": [{"type": "track", "userId": "u-away", "event": "E"}]},
                        headers=basic())
        took = time.monotonic() - started
    finally:
        services.writer.store.driver = live_driver
        away.close()
    assert r.status_code == 503, r.text
    assert r.headers["Retry-After"] == "5"
    assert r.json()["error"].startswith("the database is unavailable")
    assert took < 8, took
    # And once Neo4j is back, the same message goes through.
    r = client.post("/v1/batch", json={"batch": [{"type": "track", "userId": "u-away", "event": "E"}]},
                    headers=basic())
    assert r.status_code == 200
