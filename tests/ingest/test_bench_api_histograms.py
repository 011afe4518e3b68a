"""bench/ingest.py reads the API's own histograms around its track phase: the group commits' time
and the track answers' time, from /metrics, as counts over the phase and shares over bounds."""
from __future__ import annotations

import httpx
import pytest

from bench.ingest import _api_view, _known_owners, api_metrics, counts_between, slower_than
from tests.helpers import basic, new_id


def test_the_track_calls_of_a_phase_are_counted_from_the_api_s_metrics(live_server):
    port = int(live_server.url.rsplit(":", 1)[1])
    before = api_metrics(port)
    for _ in range(3):
        r = httpx.post(f"{live_server.url}/v1/track", headers=basic(), timeout=10,
                       json={"anonymousId": new_id("dev"), "event": "Clicked", "messageId": new_id()})
        assert r.status_code == 200
    httpx.post(f"{live_server.url}/v1/track", headers=basic(), json={"event": "no ids"}, timeout=10)  # a 400
    after = api_metrics(port)
    answers = slower_than(before["track_answers"], after["track_answers"], (.025, .1))
    assert answers["count"] == 3  # the 200s only
    assert 0 <= answers["over_100_ms"] <= answers["over_25_ms"] <= 1
    commits = slower_than(before["commits"], after["commits"], (.025, .1))
    assert 1 <= commits["count"] <= 3


def test_a_returning_visitor_s_call_is_counted_as_written_on_remembered_owners(live_server):
    port = int(live_server.url.rsplit(":", 1)[1])
    device = new_id("dev")
    first = httpx.post(f"{live_server.url}/v1/track", headers=basic(), timeout=10,
                       json={"anonymousId": device, "event": "Clicked", "messageId": new_id()})
    assert first.status_code == 200
    before = api_metrics(port)
    again = httpx.post(f"{live_server.url}/v1/track", headers=basic(), timeout=10,
                       json={"anonymousId": device, "event": "Clicked again", "messageId": new_id()})
    assert again.status_code == 200
    moved = counts_between(before["known_owners"], api_metrics(port)["known_owners"])
    assert moved == {"written": 1}
    assert _known_owners(moved) == "1 written, 0 sent back to a snapshot"


def test_shares_over_each_bound_between_two_readings():
    before = {0.025: 10, 0.1: 18, float("inf"): 20}
    after = {0.025: 16, 0.1: 27, float("inf"): 30}  # 10 more: 6 under 25 ms, 3 more under 100 ms, 1 over
    assert slower_than(before, after, (.025, .1)) == {"count": 10, "over_25_ms": 0.4, "over_100_ms": 0.1}


def test_no_observation_has_no_share():
    reading = {0.025: 5, float("inf"): 5}
    assert slower_than(reading, reading, (.025,)) == {"count": 0, "over_25_ms": None}


def test_a_bound_that_is_not_a_bucket_is_refused():
    with pytest.raises(KeyError):
        slower_than({}, {0.025: 1, float("inf"): 1}, (.03,))


def test_the_api_view_is_printed_one_phrase_per_histogram():
    view = {"commits": {"count": 802, "over_25_ms": 0.374, "over_100_ms": 0.004},
            "track_answers": {"count": 10_000, "over_25_ms": 0.894, "over_100_ms": 0.041},
            "gc_pauses": {"count": 0, "over_25_ms": None, "over_100_ms": None}}
    assert _api_view(view) == ("802 group commits, 37.4% over 25 ms and 0.4% over 100 ms; "
                               "10,000 track answers, 89.4% over 25 ms and 4.1% over 100 ms; "
                               "0 garbage collections, - over 25 ms and - over 100 ms")
