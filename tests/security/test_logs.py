"""No identifier in clear in any log line, and every line of a request carries its request id."""
from __future__ import annotations

import logging
import re
import sys

import orjson

from app import logs
from tests.helpers import basic, new_id
from tests.security.conftest import captured_logs


def _lines(out) -> list[dict]:
    return [orjson.loads(line) for line in out.getvalue().splitlines()]


def test_the_formatter_hashes_pii_fields_and_scrubs_free_text():
    try:
        raise RuntimeError("Node already exists with property `key` = 'email:ann@shop.example' (user_id:u-77)")
    except RuntimeError:
        exc_info = sys.exc_info()
    record = logging.LogRecord("cdp", logging.WARNING, __file__, 1, "seen bob@shop.example", None, exc_info)
    record.fields = {"userId": "u-77", "email": "ann@shop.example", "identifiers": ["phone:+15550100"],
                     "messages": 3}

    text = logs.JsonFormatter().format(record)

    for secret in ("u-77", "ann@shop.example", "bob@shop.example", "+15550100"):
        assert secret not in text
    line = orjson.loads(text)
    assert line["userId"] == logs.pseudonym("u-77") and line["messages"] == 3
    assert line["identifiers"] == [logs.pseudonym("phone:+15550100")]
    assert "RuntimeError" in line["exc"] and logs.pseudonym("email:ann@shop.example") in line["exc"]


def test_ingest_logs_no_identifier_even_when_it_fails(client):
    user, email, phone, key = new_id("u-secret"), f"{new_id('ann')}@shop.example", "+14155550123", "dev-web-key"

    def failing_hook(result):  # a post-commit hook that fails, quoting the person in its error
        raise RuntimeError(f"push failed for user_id:{user} <{email}>")

    client.app.state.services.writer.on_commit.append(failing_hook)
    traits = {"email": email, "phone": phone}
    with captured_logs() as out:
        ok = client.post("/v1/identify", json={"userId": user, "traits": traits}, headers=basic(key))
        bad = client.post("/v1/batch", json={"batch": [{"type": "identify", "traits": traits}]}, headers=basic(key))
        unknown = client.post("/v1/identify", json={"userId": user, "writeKey": "wrong-" + user})

    assert (ok.status_code, bad.status_code, unknown.status_code) == (200, 400, 401)
    text = out.getvalue()
    assert "post-commit hook failed" in text  # the failure path did log, with its exception text
    for secret in (user, email, phone, key, email.split("@")[0]):
        assert secret not in text
    assert logs.pseudonym(f"user_id:{user}") in text


def test_a_request_log_line_carries_the_echoed_request_id(client):
    with captured_logs(logging.INFO) as out:
        r = client.get("/v1/profiles/email:ann@shop.example", headers={"x-request-id": "sec-rid-42",
                                                                       "Authorization": "Bearer dev-admin-token"})

    assert r.headers["x-request-id"] == "sec-rid-42"
    access = [line for line in _lines(out) if line["logger"] == "cdp.access"]
    assert len(access) == 1
    assert access[0]["request_id"] == "sec-rid-42" and access[0]["status"] == r.status_code
    assert access[0]["path"] == "/v1/profiles/{ref}"  # the template: whose profile is not logged
    assert "ann@shop.example" not in out.getvalue()


def test_a_request_without_an_id_gets_a_new_one_in_its_answer_and_its_log_line(client):
    with captured_logs(logging.INFO) as out:
        first, second = client.get("/healthz"), client.get("/healthz")

    ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert all(re.fullmatch(r"[0-9a-f]{32}", rid) for rid in ids) and ids[0] != ids[1]
    access = [line for line in _lines(out) if line["logger"] == "cdp.access"]
    assert [line["request_id"] for line in access] == ids
