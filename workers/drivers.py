"""One Neo4j driver per worker process and URI, created after the fork on first use: tasks that
run every few seconds would otherwise pay a connection handshake each time."""
from __future__ import annotations

import threading

from neo4j import Driver

from app import db

_drivers: dict[str, Driver] = {}
_lock = threading.Lock()


def process_driver(settings) -> Driver:
    with _lock:
        if settings.neo4j_uri not in _drivers:
            _drivers[settings.neo4j_uri] = db.connect(settings)
        return _drivers[settings.neo4j_uri]
