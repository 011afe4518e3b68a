"""A vendor that cannot be reached (refused, DNS) is retried, then the run defers and finally fails
with a reason that names the failure and carries no credential; an error nobody foresaw fails the
run instead of leaving it `running`, and a new run can start."""

import json
import logging

import pytest
import redis

from app.destinations import engine as engine_module
from app.logs import JsonFormatter
from tests.destinations.conftest import destination, people, segment, sync
from tests.helpers import free_port

FB_TOKEN = "EAAB-never-in-a-log"
HS_TOKEN = "pat-na1-never-in-a-log"
RESEND_KEY = "re_never_in_a_log_123"


def run_to_the_end(engine, sync_row: dict) -> tuple[dict, list[str]]:
    """Execute a run as the worker would, re-running each deferral at once: its final row and outcomes."""
    run = engine.runs.create(engine.store.sync(sync_row["id"]), "manual")
    outcomes = []
    for _ in range(10):
        result = engine.execute(run["id"])
        outcomes.append(result.outcome)
        if result.outcome == "done":
            return engine.runs.get(run["id"]), outcomes
    raise AssertionError(f"run never ended: {outcomes}")


@pytest.mark.parametrize(("kind", "config", "secrets", "url_setting", "secret"), [
    ("hubspot", {"membershipProperty": "cdp_pro"}, {"accessToken": HS_TOKEN}, "hubspot_api_url", HS_TOKEN),
    ("facebook", {"audienceId": "23850000000000000"}, {"accessToken": FB_TOKEN, "appSecret": "s3cr3t-app"},
     "facebook_graph_url", FB_TOKEN),
    ("resend", {"audienceId": "aud-1"}, {"apiKey": RESEND_KEY}, "resend_api_url", RESEND_KEY),
])
def test_an_unreachable_vendor_defers_then_fails_naming_a_network_error(
        engine, store, settings, kind, config, secrets, url_setting, secret, caplog):
    people(store, settings, 2)
    engine.settings = engine.settings.model_copy(update={url_setting: f"http://127.0.0.1:{free_port()}"})
    s = sync(engine, segment(engine.feed.driver, settings), destination(engine, kind, config, secrets)["id"])
    with caplog.at_level(logging.INFO):
        run, outcomes = run_to_the_end(engine, s)
    assert len(outcomes) > 2 and set(outcomes[:-1]) == {"deferred"}  # retried, deferred, then given up
    assert run["status"] == "failed" and run["added"] == 0
    assert any(f"{kind}: network error" in e for e in run["errors"]), run["errors"]
    text = json.dumps(run) + "\n".join(JsonFormatter().format(r) for r in caplog.records)
    assert secret not in text and "s3cr3t-app" not in text
    # The sync is free again: a new run starts (it would be refused while one is active).
    assert engine.runs.create(engine.store.sync(s["id"]), "manual")["status"] == "queued"


@pytest.mark.parametrize(("message", "hidden", "shown"), [
    ("cannot parse https://vendor.example/x?access_token=EAAB-secret&x=1", ["EAAB-secret"],
     ["unexpected error: ValueError: cannot parse https://vendor.example/x?access_token=[redacted]&x=1"]),
    ("refused ann@example.org with Authorization: Bearer sk_live_abc123", ["ann@example.org", "sk_live_abc123"],
     ["Bearer [redacted]", "refused sha256:"]),
])
def test_an_unforeseen_error_fails_the_run_without_secrets_or_addresses(engine, store, settings, webhook_fake,
                                                                       monkeypatch, caplog, message, hidden,
                                                                       shown):
    people(store, settings, 2)
    s = sync(engine, segment(engine.feed.driver, settings),
             destination(engine, "webhook", {"url": webhook_fake.url}, {"signingSecret": "whsec-1"})["id"])

    def boom(*_args, **_kwargs):
        raise ValueError(message)

    monkeypatch.setattr(engine_module, "send", boom)
    with caplog.at_level(logging.ERROR, logger="cdp.sync"):
        run, outcomes = run_to_the_end(engine, s)
    assert outcomes == ["done"] and run["status"] == "failed" and len(run["errors"]) == 1
    assert all(part in run["errors"][0] for part in shown), run["errors"]
    logged = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    assert "sync run raised" in logged
    assert not any(secret in logged or secret in run["errors"][0] for secret in hidden)
    assert engine.runs.create(engine.store.sync(s["id"]), "manual")["status"] == "queued"


def test_log_lines_redact_credentials_in_urls():
    text = "GET /v21.0/1/users?access_token=EAAB1&appsecret_proof=abc&limit=5 failed; api_key=re_123"
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, text, None, None)
    line = json.loads(JsonFormatter().format(record))["msg"]
    assert line == ("GET /v21.0/1/users?access_token=[redacted]&appsecret_proof=[redacted]&limit=5 failed; "
                    "api_key=[redacted]")


def test_neo4j_or_redis_away_leaves_the_run_to_resume(engine, store, settings, webhook_fake, monkeypatch):
    people(store, settings, 1)
    s = sync(engine, segment(engine.feed.driver, settings),
             destination(engine, "webhook", {"url": webhook_fake.url}, {"signingSecret": webhook_fake.secret})["id"])
    run = engine.runs.create(engine.store.sync(s["id"]), "manual")

    def away(*_args, **_kwargs):
        raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(engine_module, "send", away)
    with pytest.raises(redis.ConnectionError):
        engine.execute(run["id"])
    assert engine.runs.get(run["id"])["status"] == "running"  # beat's stalled-run check re-queues it
    monkeypatch.undo()
    assert engine.execute(run["id"]).outcome == "done"
    assert engine.runs.get(run["id"])["status"] == "succeeded"


def test_a_warning_is_a_json_log_line(capsys):
    import warnings

    from app import logs

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        # An earlier app start captured them already, and pytest has since put its own recorder in
        # place for this test: release the capture so configure takes it again.
        logging.captureWarnings(False)
        logs.configure("INFO")
        warnings.warn("running as root is not recommended", UserWarning, stacklevel=1)
        line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    finally:
        logging.captureWarnings(False)
        root.handlers[:], root.level = handlers, level
    assert line["logger"] == "py.warnings" and "running as root" in line["msg"]
