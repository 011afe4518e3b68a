"""Profile reads against the real graph: the unified document, the timeline, search, bad input."""
from __future__ import annotations

import pytest

from app.profiles.document import CONVERSION_EVENTS, computed_traits
from tests.helpers import ADMIN
from tests.identity.factory import ingest, msg


def day(n: int, second: int = 0) -> str:
    return f"2026-01-{n:02d}T00:00:{second:02d}.000Z"


def get(client, path: str, **params):
    return client.get(path, params=params, headers=ADMIN)


def profile(client, ref: str) -> dict:
    r = get(client, f"/v1/profiles/{ref}")
    assert r.status_code == 200, r.text
    return r.json()


def all_pages(client, ref: str, **params) -> list[dict]:
    events, cursor, pages = [], None, 0
    while True:
        r = get(client, f"/v1/profiles/{ref}/events", **params, **({"cursor": cursor} if cursor else {}))
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body["events"]) <= int(params.get("limit", 50))
        events += body["events"]
        pages += 1
        cursor = body["next"]
        if cursor is None:
            return events
        assert body["events"], "a cursor must not point at an empty page"
        assert pages < 100


def newest_first(messages: list[dict]) -> list[str]:
    return [m["messageId"] for m in sorted(messages, key=lambda m: (m["timestamp"], m["messageId"]), reverse=True)]


# --- the document ----------------------------------------------------------------------------

def test_traits_newest_wins_across_merged_identifiers_and_late_messages(client, store, settings, driver):
    ingest(store, settings, [msg("identify", anonymousId="a1", timestamp=day(2),
                                 traits={"plan": "free", "name": "Ann", "email": "ann@mail.io"})], source="web")
    ingest(store, settings, [msg("identify", userId="u1", timestamp=day(3), traits={"plan": "pro"})], source="server")
    retired_before = {r["id"] for r in driver.execute_query("MATCH (p:Profile) RETURN p.id AS id").records}
    ingest(store, settings, [msg("identify", userId="u1", anonymousId="a1", timestamp=day(2, 30))], source="web")
    # Late: older than everything, arriving last. It sets what nobody set since, and nothing else.
    ingest(store, settings, [msg("identify", anonymousId="a1", timestamp=day(1),
                                 traits={"plan": "trial", "city": "Paris"})], source="mobile")
    # Only identify calls' own traits count: context.traits (an SDK's cached copy) do not.
    ingest(store, settings, [msg("track", userId="u1", timestamp=day(4), context={"traits": {"name": "Ann B"}}),
                             msg("identify", userId="u1", timestamp=day(5), traits={"tier": "gold"},
                                 context={"traits": {"tier": "silver", "lang": "fr"}})], source="mobile")

    doc = profile(client, "user_id:u1")
    assert doc["traits"] == {
        "plan": {"value": "pro", "setAt": day(3), "source": "server"},
        "name": {"value": "Ann", "setAt": day(2), "source": "web"},
        "email": {"value": "ann@mail.io", "setAt": day(2), "source": "web"},
        "city": {"value": "Paris", "setAt": day(1), "source": "mobile"},
        "tier": {"value": "gold", "setAt": day(5), "source": "mobile"},
    }
    assert doc["firstSeen"] == day(1) and doc["lastSeen"] == day(5)
    # One of the two first profiles was retired into the other; its id still finds the survivor.
    assert len(doc["mergedFrom"]) == 1 and doc["mergedFrom"][0] in retired_before
    assert profile(client, doc["mergedFrom"][0])["id"] == doc["id"]
    assert profile(client, "anonymous_id:a1")["id"] == doc["id"]
    assert profile(client, "email: Ann@Mail.IO ")["id"] == doc["id"]  # normalised like ingest


def test_traits_on_the_same_timestamp_go_to_the_later_received_message(client, store, settings):
    # messageIds sort against arrival order, so only the receive time can decide.
    ingest(store, settings, [msg("identify", userId="u1", timestamp=day(2), traits={"plan": "first"}, messageId="z")])
    ingest(store, settings, [msg("identify", userId="u1", timestamp=day(2), traits={"plan": "second"}, messageId="a")])
    assert profile(client, "user_id:u1")["traits"]["plan"]["value"] == "second"


def test_document_identifiers_activity_and_computed_traits(client, store, settings):
    ingest(store, settings, [
        msg("identify", userId="u1", anonymousId="a1", timestamp=day(1), traits={"email": "u1@mail.io"}),
        *[msg("track", userId="u1", event="Order Completed", timestamp=day(2, s)) for s in range(3)],
        msg("track", anonymousId="a1", event="Product Viewed", timestamp=day(3)),
        msg("track", anonymousId="a1", event="Product Viewed", timestamp=day(4)),
        msg("page", anonymousId="a1", name="Home", timestamp=day(5)),
        msg("page", userId="u1", name="Pricing", timestamp=day(6)),
        msg("screen", userId="u1", name="Feed", timestamp=day(7)),
    ], source="web")
    ingest(store, settings, [msg("track", userId="u1", event="Upgraded Plan", timestamp=day(8))], source="stripe")
    ingest(store, settings, [msg("track", userId="other", event="Order Completed")], source="web")

    doc = profile(client, "user_id:u1")
    assert [(i["type"], i["value"]) for i in doc["identifiers"]] == [
        ("anonymous_id", "a1"), ("email", "u1@mail.io"), ("user_id", "u1")]
    assert all(i["firstSeen"] and i["lastSeen"] for i in doc["identifiers"])
    assert doc["eventCount"] == 10
    assert doc["sources"] == ["stripe", "web"]
    assert (doc["firstSeen"], doc["lastSeen"]) == (day(1), day(8))
    assert doc["mergedFrom"] == [] and doc["segments"] == []
    assert doc["computedTraits"] == {
        "eventCounts": {"Order Completed": 3, "Product Viewed": 2, "Upgraded Plan": 1},
        "pageViews": 2, "screenViews": 1, "conversions": 4,
        "lastEvent": {"Order Completed": day(2, 2), "Product Viewed": day(4), "Upgraded Plan": day(8)},
    }


def test_the_document_lists_the_segments_the_profile_is_in(client, store, settings):
    ingest(store, settings, [msg("identify", userId="s1", traits={"plan": "pro"}),
                             msg("identify", userId="s2", traits={"plan": "free"})])
    made = {}
    for name, text in (("Pro", "traits.plan = 'pro'"), ("Anyone", "identifiers.user_id EXISTS"),
                       ("Free", "traits.plan = 'free'")):
        r = client.post("/v1/segments", json={"name": name, "text": text}, headers=ADMIN)
        assert r.status_code == 201, r.text
        made[name] = r.json()["id"]
    doc = profile(client, "user_id:s1")
    assert [(m["name"], m["id"]) for m in doc["segments"]] == [("Anyone", made["Anyone"]), ("Pro", made["Pro"])]
    assert all(m["since"].endswith("Z") for m in doc["segments"])


def test_the_conversion_list_is_a_parameter_with_documented_defaults():
    rows = [{"type": "track", "event": "Order Completed", "n": 2, "last": 0},
            {"type": "track", "event": "Demo Booked", "n": 5, "last": 0}]
    assert "Order Completed" in CONVERSION_EVENTS and "Demo Booked" not in CONVERSION_EVENTS
    assert computed_traits(rows)["conversions"] == 2
    assert computed_traits(rows, ("Demo Booked",))["conversions"] == 5


# --- the timeline ----------------------------------------------------------------------------

@pytest.fixture
def history(store, settings) -> list[dict]:
    """34 messages over three identifiers of one profile, four sources, and runs of equal timestamps."""
    sent: list[dict] = []
    plan = [("web", {"userId": "u1"}), ("mobile", {"anonymousId": "a1"}), ("server", {"anonymousId": "a2"}),
            ("stripe", {"userId": "u1"})]
    ingest(store, settings, [msg("identify", userId="u1", anonymousId="a1", timestamp=day(1))])
    ingest(store, settings, [msg("identify", userId="u1", anonymousId="a2", timestamp=day(1))])
    for n in range(32):
        source, who = plan[n % 4]
        kind = ("track", "page", "screen", "track")[n % 4]
        extra = {"event": f"E{n % 3}"} if kind == "track" else {"name": "P"}
        m = msg(kind, **who, **extra, properties={"n": n}, timestamp=day(2 + n // 8, n % 3))  # many share a ts
        ingest(store, settings, [m], source=source)
        sent.append({**m, "source": source})
    ingest(store, settings, [msg("track", userId="stranger", timestamp=day(3))])
    return sent


def stored(history: list[dict], driver) -> list[dict]:
    """The history plus the two joining identifies, as the timeline should list them."""
    records, _, _ = driver.execute_query(
        "MATCH (e:Event) WHERE e.userId = 'u1' OR e.anonymousId IN ['a1', 'a2'] "
        "RETURN e.messageId AS messageId, e.timestamp AS timestamp, e.type AS type, e.event AS event, "
        "e.source AS source")
    assert len(records) == len(history) + 2
    return [dict(r) for r in records]


@pytest.mark.parametrize("limit", [1, 4, 7, 34, 50])
def test_timeline_pages_are_newest_first_without_gaps_or_duplicates(client, history, driver, limit):
    expected = newest_first(stored(history, driver))
    got = all_pages(client, "user_id:u1", limit=limit)
    assert [e["messageId"] for e in got] == expected
    first = got[0]
    assert first["identifier"] in {"user_id:u1", "anonymous_id:a1", "anonymous_id:a2"}
    assert isinstance(first["properties"], dict)  # shaped like the event read model: JSON parsed back


def test_a_page_exactly_as_long_as_what_is_left_has_no_next(client, history, driver):
    body = get(client, "/v1/profiles/user_id:u1/events", limit=len(history) + 2).json()
    assert len(body["events"]) == len(history) + 2 and body["next"] is None


@pytest.mark.parametrize("params, keep", [
    ({"type": "page"}, lambda e: e["type"] == "page"),
    ({"type": ["page", "screen"]}, lambda e: e["type"] in ("page", "screen")),
    ({"type": "screen,identify"}, lambda e: e["type"] in ("screen", "identify")),
    ({"event": "E1"}, lambda e: e["event"] == "E1"),
    ({"source": "stripe"}, lambda e: e["source"] == "stripe"),
    ({"type": "track", "source": "web", "event": "E0"},
     lambda e: (e["type"], e["source"], e["event"]) == ("track", "web", "E0")),
    ({"since": "2026-01-03", "until": "2026-01-04T00:00:01Z"},
     lambda e: day(3) <= e["timestamp"] <= day(4, 1)),
    ({"since": "2026-01-05T00:00:00+01:00"}, lambda e: e["timestamp"] >= "2026-01-04T23:00:00.000Z"),
    ({"until": day(2, 1)}, lambda e: e["timestamp"] <= day(2, 1)),
])
def test_timeline_filters_every_page(client, history, driver, params, keep):
    expected = newest_first([e for e in stored(history, driver) if keep(e)])
    assert expected, "the filter case must select something"
    got = all_pages(client, "user_id:u1", limit=3, **params)
    assert [e["messageId"] for e in got] == expected


def test_timeline_follows_merges_and_retired_ids(client, store, settings, driver):
    ingest(store, settings, [msg("track", anonymousId="a9", event="Before", timestamp=day(1))])
    ingest(store, settings, [msg("track", userId="u9", event="Other", timestamp=day(2))])
    ingest(store, settings, [msg("identify", userId="u9", anonymousId="a9", timestamp=day(3))])
    retired = driver.execute_query("MATCH (p:Profile) WHERE p.retiredAt IS NOT NULL RETURN p.id AS id").records
    assert len(retired) == 1
    by_retired_id = all_pages(client, retired[0]["id"], limit=2)
    assert [e.get("event") for e in by_retired_id] == [None, "Other", "Before"]
    assert by_retired_id == all_pages(client, "anonymous_id:a9") == all_pages(client, "user_id:u9")


# --- search ----------------------------------------------------------------------------------

@pytest.fixture
def people(store, settings) -> None:
    ingest(store, settings, [
        msg("identify", userId="ann-1", traits={"email": "Ann@Mail.io", "city": "Paris", "age": 42,
                                                "address": {"street": "1 Rue", "zip": "75001"}}),
        msg("identify", userId="ann-2", traits={"email": "annie@else.io", "city": "Parisville"}),
        msg("identify", userId="bob", traits={"email": "bob@mail.io", "tags": ["Paris"], "note": "Paris, again"}),
        msg("track", anonymousId="anon-ann-3", event="Viewed"),
    ])
    # A fourth and fifth profile, then merged: only the survivor may be found.
    ingest(store, settings, [msg("identify", anonymousId="dev-x", traits={"email": "carl@mail.io", "city": "Paris"})])
    ingest(store, settings, [msg("identify", userId="carl", traits={"city": "Lyon"})])
    ingest(store, settings, [msg("identify", userId="carl", anonymousId="dev-x")])


def search(client, q: str, **params) -> list[str]:
    r = get(client, "/v1/profiles", q=q, **params)
    assert r.status_code == 200, r.text
    return r.json()["profiles"]


def ids_of(client, *refs: str) -> set[str]:
    return {profile(client, ref)["id"] for ref in refs}


def found(client, q: str, **params) -> set[str]:
    return {p["id"] for p in search(client, q, **params)}


def test_search_by_identifier_prefix(client, people):
    anns = ids_of(client, "user_id:ann-1", "user_id:ann-2", "anonymous_id:anon-ann-3")
    assert found(client, "ann") == ids_of(client, "user_id:ann-1", "user_id:ann-2")  # values: ann-1, ann@, annie@
    assert found(client, "anon-ann") == ids_of(client, "anonymous_id:anon-ann-3")
    assert found(client, "email:ann") == ids_of(client, "user_id:ann-1", "user_id:ann-2")
    assert found(client, "Email:ANN") == set()  # the type is part of the key, not normalised
    assert found(client, "email:ANN@") == ids_of(client, "user_id:ann-1")  # emails are stored lower-cased
    assert found(client, "ANN@mail") == ids_of(client, "user_id:ann-1")
    assert found(client, "anonymous_id:") >= ids_of(client, "anonymous_id:anon-ann-3")
    assert found(client, "user_id:ann-") | found(client, "anon") == anns
    hit = next(p for p in search(client, "bob@") if p["id"] in ids_of(client, "user_id:bob"))
    assert {"type": "email", "value": "bob@mail.io"} in hit["identifiers"] and hit["firstSeen"]


def test_search_by_exact_trait_value_returns_live_profiles_only(client, people, driver):
    paris = found(client, "Paris")
    # ann-1 (city), carl (city on the device before the merge) - not Parisville, not a list item,
    # not a substring of a longer value.
    assert paris == ids_of(client, "user_id:ann-1", "user_id:carl")
    live = {r["id"] for r in driver.execute_query("MATCH (p:Profile) WHERE p.retiredAt IS NULL RETURN p.id AS id").records}
    assert paris <= live
    assert found(client, "paris") == paris  # whole values, in any case
    assert found(client, "75001") == ids_of(client, "user_id:ann-1")  # nested values count
    assert found(client, "42") == ids_of(client, "user_id:ann-1")  # numbers by their JSON literal
    assert found(client, "Paris, again") == ids_of(client, "user_id:bob")


def test_search_pages_by_profile_id(client, store, settings):
    ingest(store, settings, [msg("identify", userId=f"page-{n}", traits={"team": "blue"}) for n in range(7)])
    expected = sorted(ids_of(client, *(f"user_id:page-{n}" for n in range(7))))
    for q in ("page-", "blue"):
        seen, cursor = [], None
        while True:
            r = get(client, "/v1/profiles", q=q, limit=3, **({"cursor": cursor} if cursor else {})).json()
            seen += [p["id"] for p in r["profiles"]]
            cursor = r["next"]
            if cursor is None:
                break
        assert seen == expected, q


# --- bad input -------------------------------------------------------------------------------

def test_refs_malformed_and_unknown(client, store, settings):
    ingest(store, settings, [msg("track", userId="u1")])
    for path in ("/v1/profiles/{}", "/v1/profiles/{}/events"):
        for ref in ("bogus", "fax:123", "email:not-an-email", "user_id:undefined", "12345678-aaaa"):
            r = get(client, path.format(ref))
            assert r.status_code == 400, (path, ref, r.text)
            assert r.json()["field"] == "ref"
        for ref in ("user_id:nobody", "00000000-0000-4000-8000-000000000000"):
            r = get(client, path.format(ref))
            assert r.status_code == 404, (path, ref, r.text)
            assert r.json()["field"] == "ref" and ref in r.json()["error"]


@pytest.mark.parametrize("params, field", [
    ({"limit": "0"}, "limit"), ({"limit": "501"}, "limit"), ({"limit": "ten"}, "limit"),
    ({"cursor": "garbage"}, "cursor"), ({"cursor": "WzEsIngiLCJ5Il0"}, "cursor"),  # [1,"x","y"]: wrong types
    ({"since": "yesterday"}, "since"), ({"until": "2026-13-01"}, "until"),
    ({"since": "2026-02-01", "until": "2026-01-01"}, "since"),
    ({"type": "purchase"}, "type"), ({"type": "track,nope"}, "type"),
    ({"event": " "}, "event"), ({"source": ""}, "source"),
])
def test_timeline_bad_params(client, store, settings, params, field):
    ingest(store, settings, [msg("track", userId="u1")])
    r = get(client, "/v1/profiles/user_id:u1/events", **params)
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field


@pytest.mark.parametrize("params, field", [
    ({}, "q"), ({"q": "   "}, "q"), ({"q": "x" * 300}, "q"), ({"q": "ann", "limit": "0"}, "limit"),
    ({"q": "ann", "limit": "101"}, "limit"), ({"q": "ann", "limit": "x"}, "limit"),
    ({"q": "ann", "cursor": "%%%"}, "cursor"),
])
def test_search_bad_params(client, params, field):
    r = get(client, "/v1/profiles", **params)
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field


@pytest.mark.parametrize("path", ["/v1/profiles?q=ann", "/v1/profiles/user_id:u1", "/v1/profiles/user_id:u1/events"])
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic ZGV2LXdlYi1rZXk6"}])
def test_every_profile_read_needs_the_admin_token(client, path, headers):
    r = client.get(path, headers=headers)
    assert r.status_code == 401, r.text
