"""Write keys only ingest; admin tokens are kept as digests and scoped: read may GET, admin may do
everything. Every non-public route of the app is walked, so a router that forgets the admin
dependency fails here."""
from __future__ import annotations

import hashlib
import re

import pytest

from app.auth import Keyring, parse_admin_token
from tests.helpers import ADMIN, basic

READ_TOKEN, ADMIN_TOKEN = "sec-read-token-1", "sec-admin-token-1"
TOKENS = [f"read:sha256:{hashlib.sha256(READ_TOKEN.encode()).hexdigest()}", f"admin:{ADMIN_TOKEN}",
          "dev-admin-token"]
# Routes open without an admin token, each for its own reason: ingest (write key), operations
# (probes and metrics), the Stripe webhook (its signature), browser (/cdp.js and analytics-next's
# settings document: a page fetches them before anyone signs in, and they hold no more than the
# write key the page already has).
PUBLIC_TAGS = {"ingest", "operations", "sources", "browser"}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _operations(app) -> list[tuple[str, str, list[str]]]:
    out = []
    for path, ops in app.openapi()["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "x", path)  # any value: auth is checked before the lookup
        out += [(method.upper(), concrete, op.get("tags", [])) for method, op in ops.items()]
    return out


@pytest.fixture
def scoped(app_with):
    return app_with(admin_tokens=TOKENS)


def _admin_operations(client):
    ops = [(m, p) for m, p, tags in _operations(client.app) if not PUBLIC_TAGS & set(tags)]
    assert len(ops) > 30  # the walk really covers the admin API
    return ops


def test_parse_admin_token_scopes_and_digests():
    digest = hashlib.sha256(b"t").digest()
    assert parse_admin_token("t") == ("admin", digest)
    assert parse_admin_token("read:t") == ("read", digest)
    assert parse_admin_token("admin:sha256:" + digest.hex()) == ("admin", digest)
    assert parse_admin_token("sha256:" + digest.hex()) == ("admin", digest)
    assert parse_admin_token("other:t") == ("admin", hashlib.sha256(b"other:t").digest())
    for bad in ("read:sha256:zz", "sha256:abcd", "read:"):
        with pytest.raises(ValueError):
            parse_admin_token(bad)


def test_the_keyring_keeps_no_token_or_key_in_clear(settings):
    keyring = Keyring(settings.model_copy(update={"admin_tokens": TOKENS}))
    held = repr(vars(keyring))
    for secret in (ADMIN_TOKEN, "dev-admin-token", "dev-web-key"):
        assert secret not in held


def test_no_admin_route_answers_a_write_key_or_no_token(scoped):
    for method, path in _admin_operations(scoped):
        for headers in ({}, basic("dev-web-key"), basic("dev-server-key"), bearer("dev-web-key"),
                        bearer("not-a-token")):
            r = scoped.request(method, path, headers=headers)
            assert r.status_code == 401, (method, path, headers, r.status_code, r.text)
            assert r.json()["field"] == "Authorization"
            # Bearer, not Basic: a Basic challenge would make a browser (the console) pop up a login prompt.
            assert r.headers["www-authenticate"] == 'Bearer realm="cdp"'


# Reads that must be POSTs (a body too big for a query string); they change nothing.
READ_POSTS = {("POST", "/v1/segments/preview")}


def test_a_read_token_may_get_and_nothing_else(scoped):
    for method, path in _admin_operations(scoped):
        r = scoped.request(method, path, headers=bearer(READ_TOKEN))
        if method == "GET" or (method, path) in READ_POSTS:
            assert r.status_code not in (401, 403), (method, path, r.text)
        else:
            assert r.status_code == 403, (method, path, r.status_code, r.text)
            assert r.json()["field"] == "Authorization" and "admin" in r.json()["error"]


def test_an_admin_token_may_write_and_read(scoped):
    for headers in (bearer(ADMIN_TOKEN), ADMIN):  # a plain entry, and the local default
        r = scoped.post("/v1/segments/preview", json={"definition": "nonsense ((("}, headers=headers)
        assert r.status_code not in (401, 403), r.text
        assert scoped.get("/v1/segments", headers=headers).status_code == 200


def test_a_read_token_is_not_a_write_key(scoped):
    r = scoped.post("/v1/track", json={"userId": "u-1", "event": "E"}, headers=basic(READ_TOKEN))
    assert r.status_code == 401
