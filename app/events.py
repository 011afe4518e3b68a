"""The stored-event read model."""
from __future__ import annotations

import orjson
from neo4j import Driver

from app.db import query

_JSON_FIELDS = ("properties", "traits", "context", "integrations", "extra")


def event_document(props: dict) -> dict:
    """Event node properties -> the message as the API shows it (JSON fields parsed back)."""
    doc = {k: v for k, v in props.items() if not k.startswith("p.")}  # p.* mirror properties
    for name in _JSON_FIELDS:
        if doc.get(name) is not None:
            doc[name] = orjson.loads(doc[name])
    extra = doc.pop("extra", None) or {}
    return {**extra, **doc}


def read_event(driver: Driver, database: str, message_id: str) -> dict | None:
    records, _, _ = driver.execute_query(query("events/by_message_id"), messageId=message_id, database_=database)
    if not records:
        return None
    r = records[0]
    return {**event_document(dict(r["event"])), "profileId": r["profileId"], "identifier": r["identifier"]}
