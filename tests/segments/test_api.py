"""The segments API: every endpoint with good and bad input (400 with the field, 404, 409, 401)."""
import pytest

from tests.helpers import ADMIN
from tests.identity.factory import ingest, msg

PRO = "traits.plan = 'pro'"


@pytest.fixture
def people(store, settings):
    ingest(store, settings, [msg("identify", userId=f"a{n}", traits={"plan": "pro" if n < 3 else "free"})
                             for n in range(5)] + [msg("track", userId="a0", event="Paid")])


def _create(client, text=PRO, name="pro users"):
    r = client.post("/v1/segments", json={"name": name, "text": text}, headers=ADMIN)
    assert r.status_code == 201, r.text
    return r.json()


ROUTES = [("post", "/v1/segments/preview"), ("post", "/v1/segments"), ("get", "/v1/segments"),
          ("get", "/v1/segments/x"), ("put", "/v1/segments/x"), ("delete", "/v1/segments/x"),
          ("get", "/v1/segments/x/members"), ("get", "/v1/segments/x/changes")]


@pytest.mark.parametrize("method, path", ROUTES)
def test_every_route_needs_the_admin_token(client, method, path):
    r = getattr(client, method)(path, headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401 and r.json()["field"] == "Authorization"


def test_preview_counts_and_samples_without_saving(client, people):
    r = client.post("/v1/segments/preview", json={"text": PRO, "sample": 2}, headers=ADMIN)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] == 3 and len(body["sample"]) == 2
    assert body["definition"] == {"type": "trait", "name": "plan", "op": "eq", "value": "pro"} and body["text"] == PRO
    tree = {"type": "and", "filters": [body["definition"], {"type": "event", "name": "Paid"}]}
    assert client.post("/v1/segments/preview", json={"definition": tree}, headers=ADMIN).json()["count"] == 1
    assert client.get("/v1/segments", headers=ADMIN).json() == {"segments": []}


@pytest.mark.parametrize("body, field, fragment", [
    ({}, "definition", "exactly one"),
    ({"text": PRO, "definition": {"type": "trait", "name": "a", "op": "exists"}}, "definition", "exactly one"),
    ({"definition": "traits.plan = 'pro'"}, "definition", "dictionary"),
    ({"definition": {"type": "maybe"}}, "definition", "tag"),
    ({"definition": {"type": "and", "filters": [{"type": "trait", "name": "a", "op": "exists"},
                                                {"type": "trait", "name": "b", "op": "gt", "value": True}]}},
     "definition.filters[1].value", "booleans"),
    ({"definition": {"type": "and", "filters": [{"type": "trait", "name": "a", "op": "is"}]}},
     "definition.filters[0].op", "Input should be"),
    ({"definition": {"type": "event", "name": "X", "where": [{"name": "a b", "op": "exists"}]}},
     "definition.where[0].name", "event property"),
    ({"definition": {"type": "event", "name": "X", "window": {"start": "2026-01-01", "end": "soon"}}},
     "definition.window.end", "ISO date"),
    ({"definition": {"type": "profile", "field": "lastSeen", "op": "gt", "value": 5}}, "definition.value", "date"),
    ({"text": "traits['no such trait'] = 1"}, "text.name", "unknown trait"),
    ({"text": "in_segment('nope')"}, "text", "unknown segment"),
    ({"text": PRO, "sample": 1000}, "sample", "less than or equal"),
    ({"text": PRO, "extra": 1}, "extra", "not permitted"),
])
def test_preview_rejects_bad_definitions_naming_the_field(client, body, field, fragment):
    r = client.post("/v1/segments/preview", json=body, headers=ADMIN)
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field and fragment in r.json()["error"], r.json()


def test_syntax_errors_answer_with_the_position(client):
    r = client.post("/v1/segments/preview", json={"text": "traits.plan = 'pro' AND performed('x') >= "},
                    headers=ADMIN)
    assert r.status_code == 400
    body = r.json()
    assert body["field"] == "text" and body["position"] == 42 and body["expected"] == "a whole number of times"
    assert "position 42" in body["error"]


def test_create_get_list_and_members(client, people):
    doc = _create(client)
    assert doc["memberCount"] == 3 and doc["latestSeq"] == 3 and doc["version"] == 1 and doc["text"] == PRO
    assert client.get(f"/v1/segments/{doc['id']}", headers=ADMIN).json()["memberCount"] == 3
    assert [s["id"] for s in client.get("/v1/segments", headers=ADMIN).json()["segments"]] == [doc["id"]]
    first = client.get(f"/v1/segments/{doc['id']}/members?limit=2", headers=ADMIN).json()
    assert len(first["members"]) == 2 and first["next"] == first["members"][1]["profileId"]
    rest = client.get(f"/v1/segments/{doc['id']}/members", params={"after": first["next"]}, headers=ADMIN).json()
    assert len(rest["members"]) == 1 and rest["next"] is None
    ids = [m["profileId"] for m in first["members"] + rest["members"]]
    assert ids == sorted(ids) and len(set(ids)) == 3


def test_create_rejects_bad_bodies(client):
    for body, field in (({"text": PRO}, "name"), ({"name": "", "text": PRO}, "name"),
                        ({"name": "x", "text": "traits.plan ="}, "text"),
                        ({"name": "x", "definition": {"type": "trait", "name": "a", "op": "in", "value": []}},
                         "definition.value")):
        r = client.post("/v1/segments", json=body, headers=ADMIN)
        assert (r.status_code, r.json()["field"]) == (400, field), r.text
    assert client.get("/v1/segments", headers=ADMIN).json() == {"segments": []}


def test_replace_re_evaluates_and_refuses_cycles(client, people):
    base = _create(client)
    user = _create(client, f"in_segment('{base['id']}')", "uses base")
    r = client.put(f"/v1/segments/{base['id']}", json={"name": "free", "text": "traits.plan = 'free'"}, headers=ADMIN)
    assert r.status_code == 200, r.text
    assert r.json()["memberCount"] == 2 and r.json()["version"] == 2
    assert client.get(f"/v1/segments/{user['id']}", headers=ADMIN).json()["memberCount"] == 2  # follows its base
    r = client.put(f"/v1/segments/{base['id']}", json={"name": "loop", "text": f"in_segment('{user['id']}')"},
                   headers=ADMIN)
    assert r.status_code == 400 and r.json()["field"] == "text" and "itself" in r.json()["error"]
    r = client.put(f"/v1/segments/{base['id']}", json={"name": "x", "text": "traits.plan = "}, headers=ADMIN)
    assert r.status_code == 400 and r.json()["position"] == 14
    r = client.put("/v1/segments/no-such-id", json={"name": "x", "text": PRO}, headers=ADMIN)
    assert r.status_code == 404 and r.json()["field"] == "id"


def test_delete_refuses_a_segment_in_use_and_removes_the_rest(client, people):
    base = _create(client)
    user = _create(client, f"NOT in_segment('{base['id']}')", "not base")
    r = client.delete(f"/v1/segments/{base['id']}", headers=ADMIN)
    assert r.status_code == 409 and r.json()["field"] == "id" and user["id"] in r.json()["error"]
    assert client.delete(f"/v1/segments/{user['id']}", headers=ADMIN).json() == {"id": user["id"], "deleted": True}
    assert client.delete(f"/v1/segments/{base['id']}", headers=ADMIN).status_code == 200
    for path in ("", "/members", "/changes"):
        assert client.get(f"/v1/segments/{base['id']}{path}", headers=ADMIN).status_code == 404
    assert client.delete(f"/v1/segments/{base['id']}", headers=ADMIN).status_code == 404


def test_changes_feed_pages_by_sequence(client, people):
    doc = _create(client)
    feed = client.get(f"/v1/segments/{doc['id']}/changes", params={"limit": 2}, headers=ADMIN).json()
    assert [c["seq"] for c in feed["changes"]] == [1, 2] and feed["next"] == 2 and feed["latestSeq"] == 3
    assert {c["kind"] for c in feed["changes"]} == {"enter"}
    rest = client.get(f"/v1/segments/{doc['id']}/changes", params={"after": 2}, headers=ADMIN).json()
    assert [c["seq"] for c in rest["changes"]] == [3] and rest["next"] == 3


@pytest.mark.parametrize("path, params, field", [
    ("members", {"limit": 0}, "limit"), ("members", {"limit": "many"}, "limit"), ("members", {"limit": 5000}, "limit"),
    ("members", {"after": "zzz"}, "after"),
    ("changes", {"after": -1}, "after"), ("changes", {"after": "x"}, "after"), ("changes", {"limit": 0}, "limit"),
])
def test_paging_parameters_are_checked(client, people, path, params, field):
    doc = _create(client)
    r = client.get(f"/v1/segments/{doc['id']}/{path}", params=params, headers=ADMIN)
    assert r.status_code == 400 and r.json()["field"] == field, r.text


def test_unknown_segments_are_404(client):
    for path in ("/v1/segments/nope", "/v1/segments/nope/members", "/v1/segments/nope/changes"):
        r = client.get(path, headers=ADMIN)
        assert r.status_code == 404 and r.json()["field"] == "id"
