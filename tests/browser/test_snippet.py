"""The browser snippet (/cdp.js) on a real page in Chromium, talking to the live API.

The pages come from a small site on another loopback address and port than the API, so every call
the snippet makes is cross-origin, as on a customer's site: CORS preflights, exposed headers and
cookies that belong to the site, not to the API. What the snippet sent is read back through the
admin API.
"""
from __future__ import annotations

import json
import re
import time
from urllib.parse import SplitResult, parse_qs

import pytest

from tests.browser.conftest import WRITE_KEY, poll, site_server

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
FAST = "{flushInterval: 100, retryBase: 200, retryMax: 1000}"

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title><link rel="icon" href="data:,">
<script src="{api}/cdp.js"></script>
<script>
  cdp.load('{key}', {{flushInterval: {flush}, retryBase: 200, retryMax: 1000}});
  cdp.page('Shop', '{title}');
</script>
</head><body><h1>{title}</h1>
<button id="buy" onclick="cdp.track('Added To Cart', {{sku: 'sku-1', price: 12.5}})">Add to cart</button>
<p>Visitor <code id="visitor"></code></p>
<script>document.getElementById('visitor').textContent = cdp.user().anonymousId();</script>
</body></html>"""

# analytics.js's pattern: a stub queues calls until the real script, loaded async, replays them.
STUB_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Stub</title><link rel="icon" href="data:,">
<script>
  !function(){{var c=window.cdp=window.cdp||[];if(!c.VERSION)['load','page','track','identify','alias',
  'group','reset'].forEach(function(m){{c[m]=function(){{c.push([m].concat([].slice.call(arguments)))}}}})}}();
  cdp.load('{key}', {fast});
  cdp.page();
  cdp.track('Before Load', {{step: 1}});
</script>
<script async src="{api}/cdp.js"></script>
</head><body><h1>Stub</h1></body></html>"""

PLAIN_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Plain</title><link rel="icon" href="data:,"></head>
<body><h1>No snippet here</h1></body></html>"""


def _page(api: str, url: SplitResult) -> tuple[str, bytes]:
    flush = parse_qs(url.query).get("flush", ["100"])[0]
    if url.path == "/stub.html":
        html = STUB_PAGE.format(api=api, key=WRITE_KEY, fast=FAST)
    elif url.path == "/plain.html":
        html = PLAIN_PAGE
    else:
        html = PAGE.format(api=api, key=WRITE_KEY, title=url.path.strip("/") or "home", flush=int(flush))
    return "text/html; charset=utf-8", html.encode()


@pytest.fixture(scope="module")
def site(live_server):
    """Base URL of the customer's site: pages that include the snippet from the API."""
    with site_server(lambda url: _page(live_server, url)) as base:
        yield base


def events_of(page, api, ref: str, count: int) -> list[dict]:
    """The profile's events (oldest first) once it holds at least `count`."""
    def read():
        r = api.get(f"/v1/profiles/{ref}/events", params={"limit": 500})
        evs = r.json()["events"] if r.status_code == 200 else []
        return list(reversed(evs)) if len(evs) >= count else None
    return poll(page, read, f"{count} events on {ref}")


def settle(page) -> None:
    """Wait until the snippet's queue is empty: every send answered. Before a reload, so the test does
    not cut a request short (the page would report it failed; the next page would send it again)."""
    if page.evaluate("!!(window.cdp && window.cdp.VERSION)"):
        page.evaluate("cdp.flush()")
        poll(page, lambda: stored(page, "cdp_queue") is None, "the snippet's queue to empty")


@pytest.fixture(autouse=True)
def settled(page):
    """After each test the queue is empty, so no late write from it lands in the next test's graph."""
    yield
    settle(page)


def anonymous_id(page) -> str:
    return page.evaluate("cdp.user().anonymousId()")


def stored(page, key: str):
    return page.evaluate("k => localStorage.getItem(k)", key)


def cookie(page, name: str) -> str | None:
    return next((c["value"] for c in page.context.cookies() if c["name"] == name), None)


def test_page_and_track_reach_the_visitors_profile(page, site, api, screenshot):
    page.goto(f"{site}/pricing")
    page.click("#buy")
    aid = anonymous_id(page)

    events = events_of(page, api, f"anonymous_id:{aid}", 2)

    screenshot("tracked")
    page_ev, track_ev = events
    assert (page_ev["type"], page_ev["name"], page_ev["category"]) == ("page", "pricing", "Shop")
    assert page_ev["properties"]["url"] == f"{site}/pricing"
    assert (track_ev["type"], track_ev["event"]) == ("track", "Added To Cart")
    assert track_ev["properties"] == {"sku": "sku-1", "price": 12.5}
    for ev in events:
        assert UUID4.match(ev["messageId"]), ev["messageId"]
        assert ev["anonymousId"] == aid and ev["source"] == "web"
        assert ev["sentAt"] and ev["originalTimestamp"]
        ctx = ev["context"]
        assert ctx["library"]["name"] == "cdp.js" and ctx["library"]["version"]
        assert ctx["page"] == {"path": "/pricing", "referrer": "", "search": "", "title": "pricing",
                               "url": f"{site}/pricing"}
        assert "Chrome" in ctx["userAgent"] and ctx["locale"]
    # The visitor's id is the site's, in analytics.js's cookie and localStorage entry.
    assert cookie(page, "ajs_anonymous_id") == aid
    assert json.loads(stored(page, "ajs_anonymous_id")) == aid
    assert stored(page, "cdp_queue") is None  # nothing left unsent


def test_calls_made_before_the_script_loads_are_replayed(page, site, api):
    page.goto(f"{site}/stub.html")
    page.wait_for_function("window.cdp && window.cdp.VERSION")
    aid = anonymous_id(page)

    events = events_of(page, api, f"anonymous_id:{aid}", 2)

    # Both calls may fall in one millisecond: their order on the timeline is then not theirs.
    assert sorted(e["type"] for e in events) == ["page", "track"]
    (track,) = [e for e in events if e["type"] == "track"]
    assert track["event"] == "Before Load" and track["properties"] == {"step": 1}


def test_identify_merges_the_anonymous_visitor_into_the_user(page, site, api, screenshot):
    page.goto(f"{site}/pricing")
    page.click("#buy")
    aid = anonymous_id(page)
    before = events_of(page, api, f"anonymous_id:{aid}", 2)

    page.evaluate("cdp.identify('user-1', {email: 'ann@example.org', plan: 'pro'})")
    page.evaluate("cdp.track('Checked Out')")

    events = events_of(page, api, "user_id:user-1", 4)
    screenshot("identified")
    ids = [e["messageId"] for e in events]
    assert [e["messageId"] for e in before] == ids[:2]  # the anonymous history came along
    assert [e["type"] for e in events] == ["page", "track", "identify", "track"]
    assert events[2]["traits"] == {"email": "ann@example.org", "plan": "pro"}
    assert events[3]["userId"] == "user-1" and events[3]["anonymousId"] == aid
    profile = api.get("/v1/profiles/user_id:user-1").json()
    keys = {(i["type"], i["value"]) for i in profile["identifiers"]}
    assert {("user_id", "user-1"), ("anonymous_id", aid), ("email", "ann@example.org")} <= keys
    assert cookie(page, "ajs_user_id") == "user-1"
    assert json.loads(stored(page, "ajs_user_traits")) == {"email": "ann@example.org", "plan": "pro"}


def test_the_anonymous_id_survives_reloads_and_losing_either_store(page, site):
    page.goto(f"{site}/home")
    aid = anonymous_id(page)

    settle(page)
    page.reload()
    assert anonymous_id(page) == aid

    settle(page)
    page.context.clear_cookies()
    page.reload()
    assert anonymous_id(page) == aid
    assert cookie(page, "ajs_anonymous_id") == aid  # put back from localStorage

    settle(page)
    page.evaluate("localStorage.removeItem('ajs_anonymous_id')")
    page.reload()
    assert anonymous_id(page) == aid
    assert json.loads(stored(page, "ajs_anonymous_id")) == aid  # put back from the cookie

    settle(page)
    page.evaluate("localStorage.clear()")
    page.context.clear_cookies()
    page.reload()
    assert anonymous_id(page) != aid  # with both gone it is a new visitor


def test_a_visitor_from_analytics_js_keeps_their_id(page, site):
    # Classic analytics.js wrote JSON-quoted cookie values; analytics-next writes plain ones.
    page.context.add_cookies([{"name": "ajs_anonymous_id", "value": "%22legacy-visitor-1%22",
                               "url": site}, {"name": "ajs_user_id", "value": "legacy-user", "url": site}])
    page.goto(f"{site}/home")

    assert anonymous_id(page) == "legacy-visitor-1"
    assert page.evaluate("cdp.user().id()") == "legacy-user"
    assert json.loads(stored(page, "ajs_anonymous_id")) == "legacy-visitor-1"


def test_ids_are_uuid_v4_where_crypto_random_uuid_is_missing(page, site, api):
    # randomUUID exists only in secure contexts; a plain-http site gets getRandomValues instead.
    page.add_init_script("delete Crypto.prototype.randomUUID")
    page.goto(f"{site}/home")

    aid = anonymous_id(page)

    assert page.evaluate("typeof crypto.randomUUID") == "undefined"
    (ev,) = events_of(page, api, f"anonymous_id:{aid}", 1)
    assert UUID4.match(aid) and UUID4.match(ev["messageId"])


def test_reset_starts_a_new_anonymous_visitor(page, site, api):
    page.goto(f"{site}/home")
    old = anonymous_id(page)
    page.evaluate("cdp.identify('user-2', {plan: 'free'})")

    page.evaluate("cdp.reset()")
    page.evaluate("cdp.track('After Reset')")

    new = anonymous_id(page)
    assert UUID4.match(new) and new != old
    assert page.evaluate("cdp.user().id()") is None
    assert page.evaluate("cdp.user().traits()") == {}
    assert cookie(page, "ajs_user_id") is None and stored(page, "ajs_user_id") is None
    assert cookie(page, "ajs_anonymous_id") == new
    (after,) = events_of(page, api, f"anonymous_id:{new}", 1)
    assert after["event"] == "After Reset" and after.get("userId") is None
    settle(page)
    page.reload()
    assert anonymous_id(page) == new


def test_events_queued_while_the_api_is_unreachable_are_retried_and_stored_once(page, site, api, request,
                                                                                 screenshot):
    # The aborted and 503 attempts, and the attempt held in the route when the page reloads.
    request.node.allowed_problems = ("status of 503", "Failed to load resource: net::ERR_FAILED",
                                     "/v1/batch net::ERR_FAILED", "/v1/batch net::ERR_ABORTED")
    attempts: list[tuple[float, list[str]]] = []

    def failing(route):
        if route.request.method != "POST":  # the CORS preflight goes to the real API
            route.continue_()
            return
        attempts.append((time.monotonic(), [m["messageId"] for m in route.request.post_data_json["batch"]]))
        if len(attempts) % 2:
            route.abort()  # a network error
        else:  # a 503 as the API sends it when Neo4j is away
            route.fulfill(status=503, headers={"Retry-After": "1", "Access-Control-Allow-Origin": "*",
                                               "Access-Control-Expose-Headers": "Retry-After"},
                          content_type="application/json", body='{"success": false}')

    page.route("**/v1/batch", failing)
    page.goto(f"{site}/checkout")
    page.click("#buy")
    poll(page, lambda: len(attempts) >= 2 and len(attempts[-1][1]) == 2, "failed attempts with both events")
    # The unsent queue is in localStorage: a reload while the API is away loses nothing.
    reloaded = len(attempts)
    page.reload()
    poll(page, lambda: len(attempts) >= reloaded + 4 and len(attempts[-1][1]) == 3,
         "attempts carrying the reloaded page's event")
    queued = [m["messageId"] for m in json.loads(stored(page, "cdp_queue"))]
    assert len(queued) == 3

    page.unroute("**/v1/batch")
    aid = anonymous_id(page)
    events = events_of(page, api, f"anonymous_id:{aid}", 3)

    screenshot("delivered")
    got = [e["messageId"] for e in events]
    assert sorted(got) == sorted(queued)  # each message exactly once, however often it was sent
    assert [e["type"] for e in events] == ["page", "track", "page"]
    assert all(ids == queued[:len(ids)] for _, ids in attempts)  # retries resend the same messageIds
    # Attempts with odd indexes got the 503; the next one on the same page came no sooner than
    # its Retry-After (1 s), though the backoff alone would have been 0.1-1 s.
    after_503 = [attempts[i + 1][0] - attempts[i][0] for i in range(reloaded, len(attempts) - 1) if i % 2]
    assert after_503 and min(after_503) >= 0.95, after_503
    poll(page, lambda: stored(page, "cdp_queue") is None, "the queue to empty")


def test_calls_the_api_would_refuse_are_ignored_with_a_warning(page, site, api):
    warnings: list[str] = []
    page.on("console", lambda m: m.type == "warning" and warnings.append(m.text))
    page.goto(f"{site}/home?flush=60000")
    page.evaluate("cdp.track(''); cdp.track(); cdp.group(''); cdp.track('Good One'); cdp.flush()")

    aid = anonymous_id(page)
    events = events_of(page, api, f"anonymous_id:{aid}", 2)
    assert [(e["type"], e.get("event")) for e in events] == [("page", None), ("track", "Good One")]
    assert [w for w in warnings if "ignored" in w] == ["cdp.js: track needs event; the call was ignored",
                                                       "cdp.js: group needs groupId; the call was ignored"]


def test_messages_the_api_refuses_are_dropped_with_one_warning(page, site, api, request):
    request.node.allowed_problems = ("status of 400",)
    warnings: list[str] = []
    page.on("console", lambda m: m.type == "warning" and warnings.append(m.text))
    page.goto(f"{site}/home?flush=60000")

    # Properties that are not an object pass the snippet's checks but not the API's.
    page.evaluate("cdp.track('Good One'); cdp.track('Bad Properties', 'not an object'); cdp.flush()")

    aid = anonymous_id(page)
    events = events_of(page, api, f"anonymous_id:{aid}", 2)
    assert [(e["type"], e.get("event")) for e in events] == [("page", None), ("track", "Good One")]
    poll(page, lambda: stored(page, "cdp_queue") is None, "the queue to empty")
    refusals = [w for w in warnings if "refused" in w]
    assert len(refusals) == 1 and "batch[2].properties" in refusals[0], warnings


def test_a_tab_closed_while_the_api_is_away_leaves_its_messages_for_the_next_page(page, site, api, request):
    """Two tabs share the stored queue; neither overwrites the other's messages, and what a closed
    tab could not send goes out from the next page that loads the snippet."""
    # ERR_FAILED: the refused sends. ERR_ABORTED: a send from page b still in flight when it navigates
    # to /c; its messages stay queued, which is what the test is about.
    request.node.allowed_problems = ("/v1/batch net::ERR_FAILED", "Failed to load resource: net::ERR_FAILED",
                                     "/v1/batch net::ERR_ABORTED")
    away = lambda route: route.continue_() if route.request.method != "POST" else route.abort()  # noqa: E731
    page.context.route("**/v1/batch", away)
    tab_a = page.context.new_page()
    tab_a.goto(f"{site}/a?flush=50")
    page.goto(f"{site}/b?flush=50")
    tab_a.evaluate("cdp.track('From A')")
    page.evaluate("cdp.track('From B')")
    tab_a.evaluate("cdp.track('A again')")
    page.evaluate("cdp.track('B again')")
    aid = anonymous_id(page)  # the tabs share the visitor
    tab_a.close(run_before_unload=True)  # runs its unload handlers; does not wait for it to close

    def queued():  # writes from the other tab reach this one's view of storage a moment later
        events = {m.get("event") for m in json.loads(stored(page, "cdp_queue") or "[]")}
        return {"From A", "From B", "A again", "B again"} <= events
    poll(page, queued, "both tabs' messages in the stored queue")
    # Unrouting updates every page of the context: one still closing refuses it (TargetClosedError).
    poll(page, tab_a.is_closed, "tab a to close")
    # A handler may still be running for the closed tab's last attempt: don't wait on it.
    page.context.unroute_all(behavior="ignoreErrors")
    page.goto(f"{site}/c?flush=50")  # the next page adopts what was left and sends it
    events = events_of(page, api, f"anonymous_id:{aid}", 7)
    assert sorted(e.get("event") for e in events if e["type"] == "track") == ["A again", "B again", "From A",
                                                                              "From B"]
    assert len({e["messageId"] for e in events}) == len(events)


# Playwright does not report a beacon sent while the page unloads, so the page records its own calls
# (in sessionStorage, which the next page of the same site can read).
RECORD_BEACONS = """
const send = navigator.sendBeacon.bind(navigator);
navigator.sendBeacon = (url, data) => {
  const ok = send(url, data);
  const seen = JSON.parse(sessionStorage.getItem('beacons') || '[]');
  sessionStorage.setItem('beacons', JSON.stringify(seen.concat([{url, data: String(data), ok}])));
  return ok;
};
"""


def test_leaving_the_page_sends_the_queue_by_beacon(page, site, api, live_server, screenshot):
    fetched = []
    page.on("request", lambda r: r.url.endswith("/v1/batch") and fetched.append(r.url))
    page.add_init_script(RECORD_BEACONS)
    page.goto(f"{site}/cart?flush=600000")  # the timer would never send: only leaving the page can
    aid = anonymous_id(page)

    page.evaluate("cdp.track('Left For Checkout', {total: 30})")
    page.goto(f"{site}/plain.html")  # a page without the snippet, so nothing else could send it

    events = events_of(page, api, f"anonymous_id:{aid}", 2)
    screenshot("after-beacon")
    assert [e.get("event") for e in events] == [None, "Left For Checkout"]
    assert fetched == []  # no fetch carried them
    (beacon,) = json.loads(page.evaluate("sessionStorage.getItem('beacons')"))
    assert beacon["ok"] and beacon["url"] == f"{live_server}/v1/batch"
    body = json.loads(beacon["data"])  # a string: the browser sends it as text/plain, no preflight
    assert body["writeKey"] == WRITE_KEY
    assert [m["messageId"] for m in body["batch"]] == [e["messageId"] for e in events]
    assert stored(page, "cdp_queue") is None  # handed to the beacon, not left for a next page


def test_a_beacon_is_not_lost_to_one_bad_call(page, site, api):
    """A refused beacon cannot be retried: what the API would refuse never gets into one."""
    page.goto(f"{site}/cart?flush=600000")
    aid = anonymous_id(page)
    page.evaluate("cdp.track('Good 1'); cdp.track(''); cdp.track('Good 2')")
    page.goto(f"{site}/plain.html")
    events = events_of(page, api, f"anonymous_id:{aid}", 3)
    # Calls in the same millisecond share a timestamp, so their order on the timeline is not theirs.
    assert sorted(str(e.get("event")) for e in events) == ["Good 1", "Good 2", "None"]


def test_a_numeric_looking_user_id_stays_exactly_as_given(page, site, api):
    page.goto(f"{site}/account")
    page.evaluate("cdp.identify('12345678901234567890'); cdp.identify('1.0')")
    settle(page)
    page.reload()
    assert page.evaluate("cdp.user().id()") == "1.0"
    page.evaluate("cdp.identify('12345678901234567890')")
    settle(page)
    page.reload()
    assert page.evaluate("cdp.user().id()") == "12345678901234567890"
    page.evaluate("cdp.track('After Reload')")
    settle(page)
    events = events_of(page, api, "user_id:12345678901234567890", 1)
    assert any(e.get("event") == "After Reload" for e in events)
