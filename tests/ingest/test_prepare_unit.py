"""Validating and preparing messages, without a server: the paths the API takes per message."""
from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from app.identity.rules import IdentityRules
from app.ingest.messages import validate_message
from app.ingest.prepare import prepare
from app.settings import Settings

RULES = IdentityRules(Settings())
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def _prepared(raw: dict, forced_type: str | None = None):
    msg = validate_message(raw, "", forced_type, 32_000)
    return prepare(msg, raw, "", source="web", received_at=NOW, batch_sent_at=None, batch_context=None,
                   batch_integrations=None, rules=RULES)


@pytest.mark.parametrize("value", ["12345678901234567890123", -(2**63), 2**63 - 1, 1.2345678901234567e300,
                                   [10**18, -(10**18)]])
def test_long_digit_runs_that_are_not_oversized_integers_pass(value):
    raw = {"userId": "u", "event": "E", "properties": {"v": value}}
    assert _prepared(raw, "track").event["p.v"] == value


@pytest.mark.parametrize("number", [2**63, 2**64 - 1])  # what orjson reads as integers past Neo4j's
def test_an_integer_past_neo4js_64_bits_is_kept_exact_in_the_json_and_as_text_on_the_node(number):
    raw = {"userId": number, "event": "E", "properties": {"n": number, "ns": [1, number], "a": [1, {"b": number}]},
           "context": {"x": "1" * 30}}
    event = _prepared(raw, "track").event
    assert orjson.loads(event["properties"]) == raw["properties"]  # the exact number
    assert (event["p.n"], event["p.ns"]) == (str(number), orjson.dumps([1, number]).decode())
    assert event["userId"] == str(number)


def test_undeclared_traits_and_properties_are_kept_on_the_event():
    track = _prepared({"userId": "u", "event": "E", "traits": {"plan": "pro"}}, "track")
    assert orjson.loads(track.event["traits"]) == {"plan": "pro"}
    assert track.traits == {}  # a track call's own traits do not set the person's
    identify = _prepared({"userId": "u", "traits": {"email": "Ann@Example.org"}, "properties": {"p": 1}}, "identify")
    assert orjson.loads(identify.event["properties"]) == {"p": 1}
    assert "p.p" in identify.event
    assert identify.traits == {"email": "Ann@Example.org"}
    assert [i.key for i in identify.identifiers] == ["user_id:u", "email:ann@example.org"]


def test_a_field_named_like_an_undeclared_one_stays_out_of_the_scalars():
    page = _prepared({"anonymousId": "a", "name": "Pricing", "groupId": "g-1"}, "page")
    assert page.event["name"] == "Pricing"
    assert "groupId" not in page.event  # undeclared for page: kept in the event's extra JSON
    assert orjson.loads(page.event["extra"]) == {"groupId": "g-1"}


def _at(raw: dict, received_at: datetime, batch_sent_at: datetime | None = None):
    msg = validate_message(raw, "", "track", 32_000)
    return prepare(msg, raw, "", source="web", received_at=received_at, batch_sent_at=batch_sent_at,
                   batch_context=None, batch_integrations=None, rules=RULES).event


def test_each_request_gets_its_own_received_and_sent_times():
    # receivedAt and a batch's sentAt are formatted once per request: a new request's times (equal
    # or not to the last one's) must never show the text of another's.
    first = _at({"userId": "u", "event": "E"}, NOW, batch_sent_at=NOW)
    later = datetime(2026, 11, 20, 10, 0, 1, 500_000, tzinfo=UTC)
    second = _at({"userId": "u", "event": "E"}, later, batch_sent_at=later)
    again = _at({"userId": "u", "event": "E"}, datetime(2026, 11, 20, 10, 0, tzinfo=UTC))
    assert (first["receivedAt"], first["sentAt"]) == ("2026-11-20T10:00:00.000Z", "2026-11-20T10:00:00.000Z")
    assert (second["receivedAt"], second["sentAt"]) == ("2026-11-20T10:00:01.500Z", "2026-11-20T10:00:01.500Z")
    assert (again["receivedAt"], again["sentAt"]) == ("2026-11-20T10:00:00.000Z", None)
    own = _at({"userId": "u", "event": "E", "sentAt": "2026-11-20T09:00:02Z",
               "originalTimestamp": "2026-11-20T09:00:00Z"}, later, batch_sent_at=later)
    assert own["sentAt"] == "2026-11-20T09:00:02.000Z"  # the message's own sentAt wins over the batch's
    # corrected for skew: receivedAt - (sentAt - originalTimestamp)
    assert own["timestamp"] == "2026-11-20T09:59:59.500Z" and own["originalTimestamp"] == "2026-11-20T09:00:00.000Z"


def test_without_sent_at_the_timestamp_is_the_original_one():
    event = _at({"userId": "u", "event": "E", "timestamp": "2026-11-19T08:00:00.250+02:00"}, NOW)
    assert event["timestamp"] == event["originalTimestamp"] == "2026-11-19T06:00:00.250Z"
    bare = _at({"userId": "u", "event": "E"}, NOW)
    assert bare["timestamp"] == bare["receivedAt"] == "2026-11-20T10:00:00.000Z"
    assert bare["originalTimestamp"] is None
