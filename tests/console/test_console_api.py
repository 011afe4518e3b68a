"""The API the console stands on, beyond the existing routers: ingest stats for the dashboard,
the token's scope, builder vocabulary, and the console's own static routes. Good and bad input."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from app.api import console
from app.main import create_app
from app.stats import HOUR_MS, ingest_overview
from tests.helpers import ADMIN, basic


def _at(delta: timedelta) -> str:
    return (datetime.now(UTC) - delta).isoformat().replace("+00:00", "Z")


def _send(client, messages: list[dict], key: str = "dev-web-key") -> None:
    r = client.post("/v1/batch", json={"batch": messages}, headers=basic(key))
    assert r.status_code == 200, r.text


def _track(n: int, event: str, ago: timedelta, **ids) -> dict:
    return {"type": "track", "event": event, "messageId": f"stats-{n}", "timestamp": _at(ago),
            "sentAt": _at(timedelta(0)), **ids}


@pytest.fixture
def traffic(client):
    _send(client, [_track(1, "Signed Up", timedelta(minutes=5), anonymousId="a1"),
                   _track(2, "Signed Up", timedelta(hours=3), anonymousId="a2"),
                   _track(3, "Order Completed", timedelta(minutes=7), anonymousId="a1"),
                   {"type": "page", "anonymousId": "a3", "name": "Home", "messageId": "stats-4"},
                   _track(5, "Old", timedelta(days=3), anonymousId="a4")])
    _send(client, [_track(6, "Invoice Paid", timedelta(minutes=1), userId="u1"),
                   _track(7, "Invoice Paid", timedelta(hours=30), userId="u1")], key="dev-server-key")


def test_ingest_stats_per_source_bucket_and_top_events(client, traffic):
    r = client.get("/v1/stats/ingest", params={"hours": 24}, headers=ADMIN)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["bucketHours"] == 1 and len(body["buckets"]) == 24
    assert body["sources"] == [{"source": "web", "events": 4}, {"source": "server", "events": 1}]
    assert body["topEvents"] == [{"event": "Signed Up", "events": 2}, {"event": "Invoice Paid", "events": 1},
                                 {"event": "Order Completed", "events": 1}]
    assert sum(v["events"] for v in body["volume"]) == 5
    assert {v["bucket"] for v in body["volume"]} <= set(body["buckets"])
    assert body["totals"] == {"profiles": 5, "identifiers": 5, "events": 7}

    week = client.get("/v1/stats/ingest", params={"hours": 168}, headers=ADMIN).json()
    assert week["bucketHours"] == 24 and len(week["buckets"]) == 7
    assert {s["source"]: s["events"] for s in week["sources"]} == {"web": 5, "server": 2}


def test_buckets_are_whole_hours_and_hold_their_events(clean_db, settings):
    until = 1_795_000_000_000 + 25 * 60_000  # 25 minutes past an hour
    overview = ingest_overview(clean_db, settings.neo4j_database, 3, until_ms=until)
    starts = [datetime.fromisoformat(b) for b in overview["buckets"]]
    assert len(starts) == 3 and all(s.minute == 0 and s.second == 0 for s in starts)
    assert starts[-1].timestamp() * 1000 <= until < starts[-1].timestamp() * 1000 + HOUR_MS


@pytest.mark.parametrize("hours", ["0", "-1", "abc", "2161", "1.5"])
def test_ingest_stats_refuses_a_bad_window(client, hours):
    r = client.get("/v1/stats/ingest", params={"hours": hours}, headers=ADMIN)
    assert r.status_code in (400, 422), r.text
    assert "hours" in r.text


@pytest.mark.parametrize("path", ["/v1/stats/ingest", "/v1/auth/whoami", "/v1/segments/vocabulary"])
@pytest.mark.parametrize("headers", [{}, basic("dev-web-key"), {"Authorization": "Bearer nope"}])
def test_console_reads_need_an_admin_token(client, path, headers):
    r = client.get(path, headers=headers)
    assert r.status_code == 401 and r.json()["field"] == "Authorization"
    # A Basic challenge would make the browser pop up its own login over the console.
    assert r.headers["www-authenticate"] == 'Bearer realm="cdp"'


def test_whoami_names_the_scope(app_with):
    c = app_with(admin_tokens=["admin:console-admin", "read:console-reader"])
    assert c.get("/v1/auth/whoami", headers={"Authorization": "Bearer console-admin"}).json() == {"scope": "admin"}
    assert c.get("/v1/auth/whoami", headers={"Authorization": "Bearer console-reader"}).json() == {"scope": "read"}


def test_vocabulary_lists_trait_names_and_recent_events(client, traffic):
    _send(client, [{"type": "identify", "userId": "u1", "traits": {"plan": "pro", "address": {"city": "Oslo"}}}])
    body = client.get("/v1/segments/vocabulary", headers=ADMIN).json()
    assert {"plan", "address.city"} <= set(body["traits"])
    # Most frequent first (ties by name); 3 days ago is within the 30-day window.
    assert body["events"] == ["Invoice Paid", "Signed Up", "Old", "Order Completed"]


def test_console_is_served_and_the_root_points_at_it(client):
    index = client.get("/console/")
    assert index.status_code == 200 and "text/html" in index.headers["content-type"]
    assert '<script type="module" src="console.js">' in index.text
    csp = index.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp and "unsafe" not in csp
    assert index.headers["x-content-type-options"] == "nosniff"
    bundle = client.get("/console/console.js", headers={"Accept-Encoding": "gzip"})
    assert bundle.status_code == 200 and bundle.headers["content-encoding"] == "gzip"
    assert "javascript" in bundle.headers["content-type"] and len(bundle.content) > 100_000  # decoded
    assert bundle.num_bytes_downloaded < len(bundle.content) / 2  # on the wire vs decoded
    assert client.get("/", follow_redirects=False).headers["location"] == "/console/"
    assert client.get("/console", follow_redirects=False).headers["location"] == "/console/"
    assert client.get("/console/no-such-file.js").status_code == 404


def test_an_unbuilt_console_says_how_to_build_it(settings, clean_db, tmp_path):
    app = create_app(settings)
    app.router.routes = [r for r in app.router.routes if getattr(r, "name", "") != "console"]
    console.install(app, dist=tmp_path)  # an empty directory: no build
    with TestClient(app) as c:
        r = c.get("/console/")
        assert r.status_code == 503 and "scripts/console.sh build" in r.text
