"""Apps built with security settings changed (tokens, rate limits, origins), and a capture of the
JSON log lines the app writes."""
from __future__ import annotations

import io
import logging
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient

from app import logs
from app.main import create_app


@pytest.fixture
def app_with(clean_db, settings):
    """app_with(**settings overrides) -> a started TestClient; stopped at the end of the test."""
    clients = []

    def make(**overrides) -> TestClient:
        client = TestClient(create_app(settings.model_copy(update=overrides)))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in reversed(clients):
        client.__exit__(None, None, None)


@contextmanager
def captured_logs(level: int = logging.DEBUG):
    """Every line the app's JSON formatter writes, from every logger, while the block runs. Added
    after the app started: its lifespan replaces the root handlers (logs.configure)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(level)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
