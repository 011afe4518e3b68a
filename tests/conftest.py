"""Real Neo4j and Redis for every test: testcontainers when a Docker engine answers, otherwise
the locally provisioned test instances (scripts/test.sh starts them; so does this file when
pytest is run on its own)."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from neo4j import GraphDatabase

from app import db
from app.auth import Keyring
from app.identity.rules import IdentityRules
from app.identity.store import IdentityStore
from app.ingest.service import IngestService
from app.settings import Settings, get_settings
from tests.helpers import WIPE_GRAPH

ROOT = Path(__file__).resolve().parent.parent
NEO4J_PASSWORD = os.environ.get("CDP_NEO4J_PASSWORD", "cdp-local-password")


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env().ping()
        return True
    except Exception:  # noqa: BLE001 - no engine is the common case here
        return False


@pytest.fixture(scope="session")
def servers():
    """(neo4j uri, redis url) of real servers for this test session."""
    if _docker_answers():
        from testcontainers.neo4j import Neo4jContainer
        from testcontainers.redis import RedisContainer

        with Neo4jContainer("neo4j:5.26-community", password=NEO4J_PASSWORD) as neo, RedisContainer("redis:7") as red:
            yield neo.get_connection_url(), f"redis://{red.get_container_host_ip()}:{red.get_exposed_port(6379)}/0"
        return
    port = os.environ.get("CDP_TEST_NEO4J_PORT", "7688")
    uri = os.environ.get("CDP_TEST_NEO4J_URI", f"bolt://127.0.0.1:{port}")
    redis_url = os.environ.get("CDP_TEST_REDIS_URL", "redis://127.0.0.1:6380/0")
    env = {**os.environ, "NEO4J_INSTANCE": os.environ.get("CDP_TEST_INSTANCE", "test"), "NEO4J_BOLT_PORT": uri.rsplit(":", 1)[1],
           "NEO4J_HTTP_PORT": os.environ.get("CDP_TEST_NEO4J_HTTP_PORT", "7475"),
           "REDIS_PORT": redis_url.rsplit(":", 1)[1].split("/")[0]}
    subprocess.run([str(ROOT / "scripts/neo4j.sh"), "start"], check=True, env=env)
    subprocess.run([str(ROOT / "scripts/redis.sh"), "start"], check=True, env=env)
    yield uri, redis_url


@pytest.fixture(scope="session")
def settings(servers) -> Settings:
    uri, redis_url = servers
    return Settings(neo4j_uri=uri, neo4j_password=NEO4J_PASSWORD, redis_url=redis_url, log_level="WARNING")


@pytest.fixture(scope="session")
def driver(settings):
    drv = GraphDatabase.driver(settings.neo4j_uri, auth=(settings.neo4j_user, settings.neo4j_password))
    drv.verify_connectivity()
    db.apply_schema(drv, settings.neo4j_database)
    yield drv
    drv.close()


def wipe(driver) -> None:
    with driver.session() as s:
        s.run(WIPE_GRAPH).consume()


@pytest.fixture
def clean_db(driver):
    """An empty graph for the test (schema kept)."""
    wipe(driver)
    return driver


@pytest.fixture
def rules(settings) -> IdentityRules:
    return IdentityRules(settings)


@pytest.fixture
def store(clean_db, settings, rules) -> IdentityStore:
    return IdentityStore(clean_db, settings.neo4j_database, rules)


@pytest.fixture
def service(settings, rules) -> IngestService:
    """The API's ingest service (validation and preparing), without HTTP."""
    return IngestService(settings, Keyring(settings), rules)


@pytest.fixture
def client(clean_db, settings):
    from fastapi.testclient import TestClient

    from app.main import create_app

    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture
def cdp_env(monkeypatch, settings):
    """CDP_* pointing at the test Neo4j, for the `cdp` command run in-process; get_settings is
    cached, so it is cleared around the test. (tests/test_cli.py's own also empties the graph.)"""
    for name in ("neo4j_uri", "neo4j_user", "neo4j_password", "neo4j_database"):
        monkeypatch.setenv(f"CDP_{name.upper()}", getattr(settings, name))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
