"""Segment's own browser library, @segment/analytics-next (console/'s devDependency, bundled here by
esbuild), on a page of another origin than the API, pointed at the API by `cdnURL` alone or with the
`Segment.io` integration's `apiHost` and `protocol` given explicitly.

It fetches `{cdnURL}/v1/projects/{writeKey}/settings`, then posts each message to `{apiHost}/p`, `/t`,
`/i` as text/plain with `writeKey` in the body (and in HTTP Basic). What it sent is read back through
the admin API.
"""
from __future__ import annotations

import json
import os
import subprocess
from base64 import b64encode
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import WRITE_KEY, poll, site_server
from tests.conftest import ROOT

HERE = Path(__file__).resolve().parent
ENTRY = HERE / "analytics_next_entry.js"
BUILD = HERE / "build"
CONSOLE_MODULES = ROOT / "console" / "node_modules"
# The version console/package-lock.json pins; the library reports it in context.library.
VERSION = json.loads((ROOT / "console/package-lock.json").read_text())[
    "packages"]["node_modules/@segment/analytics-next"]["version"]
USER_ID = "user-an-1"
EMAIL = "an-1@example.org"

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Checkout</title><link rel="icon" href="data:,">
<script src="/analytics-next.js"></script>
<script>
  window.analytics = AnalyticsBrowser.load({settings}, {options});
  analytics.page();
  analytics.track('Order Completed', {{total: 30}});
</script>
</head><body><h1>Thank you for your order</h1>
<p>Visitor <code id="visitor"></code>, user <code id="user"></code></p>
<p>Stored by the API:</p><ul id="stored"></ul>
<script>
  function show() {{
    return analytics.user().then(u => {{
      document.getElementById('visitor').textContent = u.anonymousId();
      document.getElementById('user').textContent = u.id() || '(anonymous)';
    }});
  }}
  show();
</script>
</body></html>"""

SHOW_STORED = """events => document.getElementById('stored').replaceChildren(...events.map(e => {
  const li = document.createElement('li');
  li.textContent = `${e.type} ${e.event || ''} as ${e.userId || 'anonymous'}, from ${e.source}: ${e.messageId}`;
  return li;
}))"""


@pytest.fixture(scope="session")
def analytics_next_js(console_built) -> bytes:
    """The entry file bundled with console/'s esbuild and @segment/analytics-next (which
    console_built's `npm ci` installed) into tests/browser/build/ (gitignored)."""
    BUILD.mkdir(exist_ok=True)
    out = BUILD / "analytics-next.js"
    subprocess.run([str(CONSOLE_MODULES / ".bin" / "esbuild"), str(ENTRY), "--bundle", "--format=iife",
                    "--target=chrome110", "--log-level=warning", f"--outfile={out}"],
                   check=True, env={**os.environ, "NODE_PATH": str(CONSOLE_MODULES)})
    return out.read_bytes()


@pytest.fixture(scope="module")
def site(analytics_next_js):
    """The customer's site: the bundle, and pages that tests put in `site.pages` (path -> HTML)."""
    pages: dict[str, str] = {}

    def respond(url):
        if url.path == "/analytics-next.js":
            return "application/javascript; charset=utf-8", analytics_next_js
        html = pages.get(url.path)
        return None if html is None else ("text/html; charset=utf-8", html.encode())

    with site_server(respond) as base:
        yield type("Site", (), {"url": base, "pages": pages})


def events_of(page, api, ref: str, count: int) -> list[dict]:
    """The profile's events (newest first) once it holds at least `count`."""
    def read():
        r = api.get(f"/v1/profiles/{ref}/events", params={"limit": 500})
        evs = r.json()["events"] if r.status_code == 200 else []
        return evs if len(evs) >= count else None
    return poll(page, read, f"{count} events on {ref}")


@pytest.mark.parametrize("explicit_api_host", [False, True], ids=["cdn-url-only", "explicit-api-host"])
def test_analytics_next_delivers_page_track_and_identify(page, site, api, live_server, screenshot,
                                                         explicit_api_host):
    api_netloc = urlsplit(live_server).netloc  # 127.0.0.1:port
    if explicit_api_host:
        # The settings request reaches the API by another name (localhost), so the settings name that
        # as apiHost; the option's apiHost must win, and the messages go to 127.0.0.1.
        cdn_url = f"http://localhost:{urlsplit(live_server).port}"
        options = {"integrations": {"Segment.io": {"apiHost": f"{api_netloc}/v1", "protocol": "http"}}}
    else:
        cdn_url, options = live_server, {}
    site.pages["/checkout"] = PAGE.format(settings=json.dumps({"writeKey": WRITE_KEY, "cdnURL": cdn_url}),
                                          options=json.dumps(options))
    requests, messages = [], []
    page.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
    page.on("request", lambda r: r.url.startswith((live_server, cdn_url)) and requests.append(r))

    page.goto(f"{site.url}/checkout")
    aid = page.evaluate("analytics.user().then(u => u.anonymousId())")
    # The library sets userId as it delivers, not as it is called, so the anonymous page and track
    # must be stored before identify: only then does identify have an anonymous visitor to merge.
    anonymous = events_of(page, api, f"anonymous_id:{aid}", 2)
    assert all(e.get("userId") is None for e in anonymous), anonymous
    visitor = api.get(f"/v1/profiles/anonymous_id:{aid}").json()
    assert "user_id" not in {i["type"] for i in visitor["identifiers"]}

    page.evaluate("([id, email]) => analytics.identify(id, {email}).then(() => show())", [USER_ID, EMAIL])

    events = events_of(page, api, f"user_id:{USER_ID}", 3)
    page.evaluate(SHOW_STORED, events)
    screenshot("delivered")
    by_type = {e["type"]: e for e in events}
    assert sorted(by_type) == ["identify", "page", "track"] and len(events) == 3
    assert {e["messageId"] for e in anonymous} < {e["messageId"] for e in events}  # the history came along
    for ev in events:
        assert ev["source"] == "web" and ev["anonymousId"] == aid, ev
        assert ev["context"]["library"] == {"name": "analytics.js", "version": f"npm:next-{VERSION}"}
        assert ev["context"]["page"]["url"] == f"{site.url}/checkout"
    assert by_type["page"]["properties"]["url"] == f"{site.url}/checkout"
    assert by_type["track"]["event"] == "Order Completed"
    assert by_type["track"]["properties"] == {"total": 30}
    assert by_type["identify"]["userId"] == USER_ID and by_type["identify"]["traits"] == {"email": EMAIL}
    # The anonymous visitor and the user are one profile: the visitor's, which identify merged into.
    profile = api.get(f"/v1/profiles/user_id:{USER_ID}").json()
    assert api.get(f"/v1/profiles/anonymous_id:{aid}").json()["id"] == profile["id"]
    keys = {(i["type"], i["value"]) for i in profile["identifiers"]}
    assert {("user_id", USER_ID), ("anonymous_id", aid), ("email", EMAIL)} <= keys
    assert page.evaluate("analytics.user().then(u => u.id())") == USER_ID

    # What the library did on the wire: the settings from cdnURL, one text/plain post per message to
    # the API's short paths with the write key in the body, and (1.84.3 adds it) in HTTP Basic too,
    # which makes each post a preflighted CORS request.
    gets = [r.url for r in requests if r.method == "GET"]
    assert gets == [f"{cdn_url}/v1/projects/{WRITE_KEY}/settings"]
    posts = {urlsplit(r.url).path: r for r in requests if r.method == "POST"}
    assert sorted(posts) == ["/v1/i", "/v1/p", "/v1/t"]
    for path, r in posts.items():
        assert r.url.startswith(f"http://{api_netloc}/"), r.url
        assert r.headers["content-type"].startswith("text/plain")
        assert r.headers.get("authorization") == f"Basic {b64encode(f'{WRITE_KEY}:'.encode()).decode()}"
        body = json.loads(r.post_data)
        assert body["writeKey"] == WRITE_KEY and body["type"][0] == path[-1]
    assert messages == []  # not a warning either
