"""Fault test: Neo4j killed with SIGKILL in the middle of an ingest sent by the official Segment SDK
(its own retries, gzip, batches of 100) through the real API under uvicorn; restarted; every
message must be stored exactly once. The full-size run (100,000 messages) is bench/faults.py.

This kills a server, so it uses a Neo4j instance of its own (named after the test instance, on free
loopback ports), never the shared test one; it is stopped again afterwards.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from bench.faults import free_port, ingest_with_neo4j_kill, neo4j_env
from tests.conftest import NEO4J_PASSWORD, ROOT

MESSAGES = 2_000


@pytest.fixture(scope="module")
def faulty_neo4j(settings):
    """(settings, instance, bolt port, http port) of a Neo4j this module may kill."""
    instance = f"{os.environ.get('CDP_TEST_INSTANCE', 'test')}-faults"
    port = int(os.environ.get("CDP_TEST_FAULTS_NEO4J_PORT", "0")) or free_port()
    http_port = int(os.environ.get("CDP_TEST_FAULTS_NEO4J_HTTP_PORT", "0")) or free_port()
    env = {**neo4j_env(instance, port, http_port), "NEO4J_HEAP": "512m", "NEO4J_PAGECACHE": "256m"}
    script = str(ROOT / "scripts" / "neo4j.sh")
    subprocess.run([script, "start"], check=True, env=env, timeout=180)
    from neo4j import GraphDatabase

    from app import db

    own = settings.model_copy(update={"neo4j_uri": f"bolt://127.0.0.1:{port}", "neo4j_password": NEO4J_PASSWORD,
                                      "segment_upkeep": False})
    drv = GraphDatabase.driver(own.neo4j_uri, auth=(own.neo4j_user, own.neo4j_password))
    try:
        drv.verify_connectivity()
        db.apply_schema(drv, own.neo4j_database)
    finally:
        drv.close()
    try:
        yield own, instance, port, http_port, env
    finally:
        subprocess.run([script, "stop"], check=False, env=env, timeout=120)


def test_neo4j_sigkill_mid_ingest_stores_every_message_exactly_once(faulty_neo4j):
    own, instance, port, http_port, env = faulty_neo4j
    figures = ingest_with_neo4j_kill(own, instance, port, http_port, MESSAGES, kill_at=0.3, down_seconds=1.0,
                                     redis_url=own.redis_url, deadline_seconds=75,
                                     neo4j_extra_env={k: env[k] for k in ("NEO4J_HEAP", "NEO4J_PAGECACHE")},
                                     log=lambda *_: None)
    assert figures["neo4j_sigkills"] == 1 and figures["killed_after_messages"] < MESSAGES, figures
    assert figures["sdk_gave_up_batches"] == 0, figures["sdk_errors"]
    assert (figures["events_stored"], figures["distinct_stored"]) == (MESSAGES, MESSAGES), figures
    assert (figures["duplicated"], figures["missing"], figures["unexpected"]) == (0, 0, 0), figures
    # A write while Neo4j is down is never acknowledged unless it became durable (after the restart).
    probe = figures["probe_while_down"]
    assert probe.get("status") != 200 or probe["stored"] == 1, probe
