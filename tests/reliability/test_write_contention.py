"""A group whose transaction keeps losing to concurrent writes for the whole retry budget is
answered 503 with Retry-After (nothing of it written), each re-run is counted by its reason, and
the same request goes through once the conflict is gone."""
import time

import app.identity.store as store_module
from tests.helpers import basic, count, hold_busy, metric_sum, release_busy


def _retries(client, reason: str) -> float:
    return metric_sum(client, f'cdp_ingest_write_retries_total{{reason="{reason}"}}')


def test_a_group_that_keeps_meeting_concurrent_writes_is_answered_503_and_counted(client, driver, monkeypatch):
    r = client.post("/v1/identify", json={"userId": "u-busy", "traits": {"email": "busy@mail.io"}}, headers=basic())
    assert r.status_code == 200, r.text
    hold_busy(driver, "user_id:u-busy")
    # Long enough for a second attempt even when the first is slow (a Neo4j just started took over
    # 0.5 s for one), short enough to answer well within the SDKs' timeout.
    monkeypatch.setattr(store_module, "RETRY_SECONDS", 2.0)
    before = _retries(client, "stale_snapshot")
    events_before = count(driver, "MATCH (e:Event) RETURN count(e)")
    message = {"type": "track", "messageId": "busy-1", "userId": "u-busy", "event": "Clicked"}

    started = time.monotonic()
    r = client.post("/v1/batch", json={"batch": [message]}, headers=basic())
    took = time.monotonic() - started

    assert r.status_code == 503, r.text
    assert r.headers["Retry-After"] == "1"
    assert r.json()["error"].startswith("the database is busy with concurrent writes")
    assert r.json()["code"] and r.json()["message"]  # what the SDKs read to decide on a retry
    assert took < 8, took
    assert _retries(client, "stale_snapshot") - before >= 2
    assert count(driver, "MATCH (e:Event) RETURN count(e)") == events_before  # nothing written

    release_busy(driver)
    r = client.post("/v1/batch", json={"batch": [message]}, headers=basic())
    assert r.status_code == 200, r.text
    assert count(driver, "MATCH (e:Event {messageId: 'busy-1'}) RETURN count(e)") == 1
