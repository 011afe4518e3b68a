"""CORS for the browser snippet: analytics.js posts JSON with the write key in Basic auth, from any
site, and never with cookies."""
from __future__ import annotations

from tests.helpers import basic, new_id

PREFLIGHT = {"Origin": "https://shop.example", "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "authorization, content-type, content-encoding"}


def test_a_preflight_for_batch_is_allowed_without_credentials(client):
    r = client.options("/v1/batch", headers=PREFLIGHT)

    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == "*"
    allowed = {h.strip().lower() for h in r.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "content-encoding"} <= allowed
    assert "POST" in r.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in r.headers


def test_a_cross_origin_post_gets_the_allow_origin_header(client):
    msg = {"userId": new_id("u"), "event": "Cors"}
    r = client.post("/v1/track", json=msg, headers={**basic(), "Origin": "https://shop.example"})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "*"


def test_origins_come_from_settings(app_with):
    client = app_with(cors_origins=["https://shop.example"])
    assert client.options("/v1/batch", headers=PREFLIGHT).status_code == 200
    refused = client.options("/v1/batch", headers={**PREFLIGHT, "Origin": "https://evil.example"})
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers


def test_a_cross_origin_page_may_read_retry_after(client):
    # Not a CORS-safelisted response header: a page's script can honour it only if it is exposed.
    r = client.post("/v1/track", json={"userId": new_id("u"), "event": "E"},
                    headers={**basic(), "Origin": "https://shop.example"})
    assert r.status_code == 200
    exposed = {h.strip().lower() for h in r.headers["access-control-expose-headers"].split(",")}
    assert "retry-after" in exposed
