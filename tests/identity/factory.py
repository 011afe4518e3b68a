"""Build and ingest Segment messages straight through the real prepare + store path."""
from __future__ import annotations

import itertools

from app.auth import Keyring
from app.identity.rules import IdentityRules
from app.identity.store import IdentityStore, IngestResult
from app.ingest.service import IngestService
from app.settings import Settings

_seq = itertools.count()


def msg(type_: str = "track", **fields) -> dict:
    m = {"type": type_, "messageId": f"msg-{next(_seq)}", **fields}
    if type_ == "track":
        m.setdefault("event", "Viewed")
    return m


def ingest(store: IdentityStore, settings: Settings, messages: list[dict], source: str = "web") -> IngestResult:
    service = IngestService(settings, Keyring(settings), store.rules)
    return store.ingest(service.batch({"batch": messages}, source))


def store_for(driver, settings: Settings) -> IdentityStore:
    return IdentityStore(driver, settings.neo4j_database, IdentityRules(settings), settings.suppression_salt)
