"""Identity graph, explanations, merge history, the suspicious-profile report, and the Neo4j
Browser queries, against the real graph."""
from __future__ import annotations

import io
from pathlib import Path

import networkx as nx
import pytest
from neo4j.graph import Path as GraphPath

from app.db import CYPHER_DIR, query
from tests.helpers import ADMIN, count
from tests.identity.factory import ingest, msg

T = "2026-01-0{}T10:00:00Z"


def profile_of(driver, key: str) -> str:
    return count(driver, "MATCH (:Identifier {key: $key})-[:BELONGS_TO]->(p) RETURN p.id", key=key)


@pytest.fixture
def ann(store, settings, driver) -> dict:
    """Three profiles merged in a chain, and a shared device where bob was refused three times.

    big  {anonymous_id:web-1, email:ann@example.org} + web-2        (m-web, m-web2)
    tab  {anonymous_id:tab-1}                                       (m-tab)
    mid  {user_id:ann, anonymous_id:phone-1}                        (m-app)
    m-link1 joins ann and tab-1: tab (1 id) merges into mid (2 ids)
    m-link2 joins ann and the email: mid (3) merges into big (3, older)
    m-web-again repeats the web-1/email evidence
    bob uses phone-1 three times: refused (one userId per profile)
    """
    def one(type_, **fields):
        ingest(store, settings, [msg(type_, **fields)])

    one("identify", messageId="m-web", anonymousId="web-1", traits={"email": "Ann@Example.org"},
        timestamp=T.format(1))
    one("page", messageId="m-web2", anonymousId="web-2", properties={"email": "ann@example.org"},
        timestamp=T.format(2))
    one("track", messageId="m-tab", anonymousId="tab-1", timestamp=T.format(3))
    one("track", messageId="m-app", userId="ann", anonymousId="phone-1", timestamp=T.format(4))
    one("track", messageId="m-link1", userId="ann", anonymousId="tab-1", timestamp=T.format(5))
    one("identify", messageId="m-link2", userId="ann", traits={"email": "ann@example.org"},
        timestamp=T.format(6))
    one("identify", messageId="m-web-again", anonymousId="web-1", traits={"email": "ann@example.org"},
        timestamp=T.format(8))
    for n in range(3):
        one("track", messageId=f"m-bob{n}", userId="bob", anonymousId="phone-1", timestamp=T.format(7))

    def created_by(message_id):  # the profile a message created (createdAt is its event time)
        return count(driver, "MATCH (p:Profile) WHERE p.createdAt = $ts RETURN p.id",
                     ts=count(driver, "MATCH (e:Event {messageId: $m}) RETURN e.ts", m=message_id))

    return {"live": profile_of(driver, "user_id:ann"), "bob": profile_of(driver, "user_id:bob"),
            "mid": created_by("m-app"), "tab": created_by("m-tab")}


ANN_KEYS = {"anonymous_id:web-1", "anonymous_id:web-2", "anonymous_id:tab-1", "anonymous_id:phone-1",
            "email:ann@example.org", "user_id:ann"}


def _edges(doc: dict, kind: str) -> dict:
    return {(e["source"], e["target"]): e for e in doc["edges"] if e["kind"] == kind}


# --- graph ---

def test_graph_shows_identifiers_merged_profiles_evidence_and_refusals(client, ann):
    r = client.get("/v1/profiles/email:ANN@example.org/graph", headers=ADMIN)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["profileId"] == ann["live"]
    nodes = {n["id"]: n for n in doc["nodes"]}
    own = {k for k, n in nodes.items() if n["kind"] == "identifier" and not n["outside"]}
    assert own == ANN_KEYS
    assert nodes["user_id:bob"]["outside"] is True and nodes["user_id:bob"]["profileId"] == ann["bob"]
    profiles = {k: n for k, n in nodes.items() if n["kind"] == "profile"}
    assert set(profiles) == {ann["live"], ann["mid"], ann["tab"]}
    assert [profiles[p]["retired"] for p in (ann["live"], ann["mid"], ann["tab"])] == [False, True, True]
    assert set(_edges(doc, "belongs_to")) == {(k, ann["live"]) for k in ANN_KEYS}

    evidence = {pair: e["firstMessageId"] for pair, e in _edges(doc, "seen_with").items()}
    assert evidence == {
        ("anonymous_id:web-1", "email:ann@example.org"): "m-web",
        ("anonymous_id:web-2", "email:ann@example.org"): "m-web2",
        ("anonymous_id:phone-1", "user_id:ann"): "m-app",
        ("anonymous_id:tab-1", "user_id:ann"): "m-link1",
        ("email:ann@example.org", "user_id:ann"): "m-link2",
    }
    link = _edges(doc, "seen_with")[("anonymous_id:tab-1", "user_id:ann")]
    assert (link["firstAt"], link["messageSource"], link["count"]) == ("2026-01-05T10:00:00.000Z", "web", 1)

    merges = {pair: e["messageId"] for pair, e in _edges(doc, "merged_into").items()}
    assert merges == {(ann["tab"], ann["mid"]): "m-link1", (ann["mid"], ann["live"]): "m-link2"}
    refused = _edges(doc, "refused_with")[("anonymous_id:phone-1", "user_id:bob")]
    assert refused["count"] == 3 and refused["reason"] == "limit:user_id:1"
    ids = {n["id"] for n in doc["nodes"]}
    assert all(e["source"] in ids and e["target"] in ids for e in doc["edges"])


def test_graphml_parses_back_with_networkx(client, ann):
    r = client.get(f"/v1/profiles/{ann['live']}/graph", params={"format": "graphml"}, headers=ADMIN)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/xml")
    g = nx.read_graphml(io.BytesIO(r.content))
    assert ANN_KEYS | {"user_id:bob", ann["live"], ann["mid"], ann["tab"]} == set(g.nodes)
    assert g.nodes["user_id:bob"]["outside"] is True
    assert g.nodes[ann["mid"]]["kind"] == "profile" and g.nodes[ann["mid"]]["retired"] is True
    kinds = [d["kind"] for _, _, d in g.edges(data=True)]
    assert sorted(kinds) == ["belongs_to"] * 6 + ["merged_into"] * 2 + ["refused_with"] + ["seen_with"] * 5
    link = [d for _, _, d in g.edges(data=True) if d.get("firstMessageId") == "m-link2"]
    assert len(link) == 1 and link[0]["count"] == 1


# --- explain ---

def test_explain_walks_the_evidence_and_names_the_messages(client, ann):
    r = client.get("/v1/profiles/user_id:ann/explain", headers=ADMIN,
                   params={"a": "anonymous_id:web-1", "b": "anonymous_id:tab-1"})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["profileId"] == ann["live"] and doc["reason"] is None
    assert [(s["from"], s["to"], s["messageId"]) for s in doc["path"]] == [
        ("anonymous_id:web-1", "email:ann@example.org", "m-web"),
        ("email:ann@example.org", "user_id:ann", "m-link2"),
        ("user_id:ann", "anonymous_id:tab-1", "m-link1"),
    ]
    assert [s["at"] for s in doc["path"]] == ["2026-01-01T10:00:00.000Z", "2026-01-06T10:00:00.000Z",
                                             "2026-01-05T10:00:00.000Z"]
    assert [(s["count"], s["lastMessageId"]) for s in doc["path"]] == [
        (2, "m-web-again"), (1, "m-link2"), (1, "m-link1")]
    assert all(s["source"] == "web" for s in doc["path"])


def test_explain_normalises_identifiers_like_resolve(client, ann):
    r = client.get(f"/v1/profiles/{ann['mid']}/explain", headers=ADMIN,
                   params={"a": "email: ANN@Example.org ", "b": "user_id:ann"})
    assert r.status_code == 200
    assert [s["messageId"] for s in r.json()["path"]] == ["m-link2"]


def test_explain_without_an_evidence_path_says_so(client, ann, driver):
    # As after a split: both identifiers stay on the profile but the chain between them is gone.
    driver.execute_query("MATCH (:Identifier {key: 'email:ann@example.org'})-[e:SEEN_WITH]-"
                         "(:Identifier {key: 'user_id:ann'}) DELETE e")
    r = client.get("/v1/profiles/user_id:ann/explain", headers=ADMIN,
                   params={"a": "anonymous_id:web-1", "b": "anonymous_id:tab-1"})
    assert r.status_code == 200
    doc = r.json()
    assert doc["path"] is None and "no recorded evidence" in doc["reason"]


def test_explain_same_identifier_is_an_empty_path(client, ann):
    r = client.get("/v1/profiles/user_id:ann/explain", headers=ADMIN,
                   params={"a": "user_id:ann", "b": "user_id:ann"})
    assert r.status_code == 200 and r.json()["path"] == []


@pytest.mark.parametrize("params,status,field", [
    ({"a": "user_id:ann"}, 400, "b"),
    ({"b": "user_id:ann"}, 400, "a"),
    ({"a": "", "b": "user_id:ann"}, 400, "a"),
    ({"a": "nonsense", "b": "user_id:ann"}, 400, "a"),
    ({"a": "user_id:ann", "b": "fax:123"}, 400, "b"),
    ({"a": "email:test@test.com", "b": "user_id:ann"}, 400, "a"),  # blocked placeholder
    ({"a": "00000000-1111-2222-3333-444444444444", "b": "user_id:ann"}, 400, "a"),  # a profile id
    ({"a": "user_id:bob", "b": "user_id:ann"}, 404, "a"),  # on another profile
    ({"a": "user_id:ann", "b": "email:nobody@example.org"}, 404, "b"),
])
def test_explain_bad_input(client, ann, params, status, field):
    r = client.get("/v1/profiles/user_id:ann/explain", headers=ADMIN, params=params)
    assert r.status_code == status, r.text
    assert r.json()["field"] == field


# --- history ---

def test_history_lists_chained_merges_newest_first_and_refusals(client, ann):
    # A retired profile's id resolves to the survivor.
    r = client.get(f"/v1/profiles/{ann['tab']}/history", headers=ADMIN)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["profileId"] == ann["live"]
    assert [(m["profileId"], m["into"], m["messageId"], m["at"]) for m in doc["merges"]] == [
        (ann["mid"], ann["live"], "m-link2", "2026-01-06T10:00:00.000Z"),
        (ann["tab"], ann["mid"], "m-link1", "2026-01-05T10:00:00.000Z"),
    ]
    assert all(m["source"] == "web" and m["reason"] == "evidence" for m in doc["merges"])
    assert doc["splits"] == [] and doc["moves"] == []
    [refusal] = doc["refusals"]
    assert (refusal["a"], refusal["b"], refusal["count"]) == ("anonymous_id:phone-1", "user_id:bob", 3)
    assert (refusal["aProfileId"], refusal["bProfileId"]) == (ann["live"], ann["bob"])
    assert refusal["firstMessageId"] == "m-bob0"


def test_history_of_a_profile_never_merged(client, ann):
    doc = client.get("/v1/profiles/user_id:bob/history", headers=ADMIN).json()
    assert doc["merges"] == [] and len(doc["refusals"]) == 1


def test_history_shows_a_split(client, ann, settings, driver):
    from app.identity.split import split_profile

    split = split_profile(driver, settings.neo4j_database, ann["live"], ["anonymous_id:tab-1"], "not ann")
    doc = client.get("/v1/profiles/user_id:ann/history", headers=ADMIN).json()
    assert [(s["profileId"], s["splitFrom"], s["identifiers"]) for s in doc["splits"]] == [
        (split["newProfileId"], ann["live"], ["anonymous_id:tab-1"])]
    graph = client.get("/v1/profiles/user_id:ann/graph", headers=ADMIN).json()
    assert "anonymous_id:tab-1" not in {n["id"] for n in graph["nodes"]}


def test_history_shows_identifiers_claimed_off_a_shared_computer(client, store, settings, driver):
    # B types her email on A's family computer, then logs in with it: the email moves to B.
    ingest(store, settings, [msg("identify", userId="A", anonymousId="family-pc", timestamp=T.format(1)),
                             msg("track", anonymousId="family-pc", properties={"email": "b@home.io"},
                                 event="Form Sent", timestamp=T.format(2))])
    ingest(store, settings, [msg("identify", messageId="m-login", userId="B", traits={"email": "b@home.io"},
                                 timestamp=T.format(3))])
    a, b = profile_of(driver, "user_id:A"), profile_of(driver, "user_id:B")
    into_b = client.get("/v1/profiles/user_id:B/history", headers=ADMIN).json()["moves"]
    out_of_a = client.get("/v1/profiles/user_id:A/history", headers=ADMIN).json()["moves"]
    assert into_b == out_of_a
    [move] = into_b
    assert (move["identifier"], move["from"], move["to"]) == ("email:b@home.io", a, b)
    assert move["messageId"] == "m-login" and move["reason"] == "claimed-by-user-id"


def test_a_refusal_inside_one_profile_is_listed_once_and_is_no_shared_device(client, ann, driver):
    driver.execute_query("MATCH (a:Identifier {key: $a}), (b:Identifier {key: $b}) "
                         "CREATE (a)-[:REFUSED_WITH {reason: 'limit:email:5', count: 1, lastAt: 0}]->(b)",
                         a="anonymous_id:phone-1", b="user_id:ann")
    assert len(client.get("/v1/profiles/user_id:ann/history", headers=ADMIN).json()["refusals"]) == 2
    assert [r["refusedUserId"] for r in _run(driver, "shared_devices")] == ["bob"]


# --- suspicious report ---

def test_suspicious_report_thresholds(client, ann, store, settings, driver):
    for user, emails in (("many", 4), ("three", 3)):
        ingest(store, settings, [msg("identify", userId=user, traits={"email": f"{user}{n}@mail.io"})
                                 for n in range(emails)])
    many, three = profile_of(driver, "user_id:many"), profile_of(driver, "user_id:three")

    def report(**params):
        r = client.get("/v1/reports/suspicious-profiles", headers=ADMIN, params=params)
        assert r.status_code == 200, r.text
        return {p["profileId"]: p for p in r.json()["profiles"]}

    defaults = report()
    assert set(defaults) == {many, ann["live"], ann["bob"]}  # 4 emails; a join refused 3 times
    assert defaults[many]["reasons"] == ["email: 4 >= 4"] and defaults[many]["identifiers"]["email"] == 4
    assert defaults[ann["live"]]["reasons"] == ["refused_join: 3 >= 3"]
    assert defaults[ann["live"]]["maxRefusedCount"] == 3 and defaults[ann["live"]]["refusedJoins"] == 1

    assert set(report(min_refusals=4)) == {many}
    assert set(report(min_refusals=4, min_emails=5)) == set()
    by_anon = report(min_anonymous=4, min_refusals=4, min_emails=5)
    assert set(by_anon) == {ann["live"]} and by_anon[ann["live"]]["reasons"] == ["anonymous_id: 4 >= 4"]
    assert set(report(min_emails=3, min_refusals=99)) == {many, three}
    # most rules broken first
    both = client.get("/v1/reports/suspicious-profiles", headers=ADMIN,
                      params={"min_anonymous": 4, "limit": 1}).json()["profiles"]
    assert [p["profileId"] for p in both] == [ann["live"]] and len(both[0]["reasons"]) == 2


@pytest.mark.parametrize("params", [{"min_anonymous": 0}, {"min_emails": "x"}, {"limit": 0}, {"limit": 5000}])
def test_suspicious_report_bad_input(client, params):
    assert client.get("/v1/reports/suspicious-profiles", headers=ADMIN, params=params).status_code == 400


# --- every endpoint: auth, malformed and unknown refs ---

ENDPOINTS = ["/v1/profiles/{ref}/graph", "/v1/profiles/{ref}/history",
             "/v1/profiles/{ref}/explain?a=user_id:ann&b=user_id:ann"]


@pytest.mark.parametrize("path", ENDPOINTS + ["/v1/reports/suspicious-profiles"])
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"},
                                     {"Authorization": "Basic ZGV2Og=="}])
def test_admin_token_required(client, path, headers):
    r = client.get(path.format(ref="user_id:ann"), headers=headers)
    assert r.status_code == 401 and r.json()["field"] == "Authorization"


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("ref,status", [
    ("nonsense", 400), ("fax:123", 400), ("email:not-an-email", 400),
    ("email:nobody@example.org", 404), ("00000000-1111-2222-3333-444444444444", 404),
])
def test_bad_and_unknown_refs(client, ann, path, ref, status):
    r = client.get(path.format(ref=ref), headers=ADMIN)
    assert r.status_code == status, r.text
    body = r.json()
    assert body["field"] == "ref"
    if status == 404:
        assert ref in body["error"]


def test_graph_format_must_be_known(client, ann):
    r = client.get("/v1/profiles/user_id:ann/graph", params={"format": "dot"}, headers=ADMIN)
    assert r.status_code == 400


def test_refs_with_slashes_reach_the_profile(client, store, settings):
    ingest(store, settings, [msg("track", userId="team/ann", anonymousId="x/1")])
    r = client.get("/v1/profiles/user_id:team%2Fann/graph", headers=ADMIN)
    assert r.status_code == 200
    assert {n["id"] for n in r.json()["nodes"] if n["kind"] == "identifier"} == {"user_id:team/ann",
                                                                                  "anonymous_id:x/1"}


# --- Neo4j Browser queries (cypher/explore) ---

EXPLORE = {"person_graph", "biggest_profiles", "suspicious_profiles", "recent_merges", "shared_devices"}
SAMPLE_PARAMS = {"key": "email:ann@example.org", "limit": 25}


def test_every_explore_query_has_a_header_naming_its_params():
    files = {p.stem: p for p in (CYPHER_DIR / "explore").glob("*.cypher")}
    assert set(files) == EXPLORE
    for name, path in files.items():
        header = [ln for ln in path.read_text().splitlines() if ln.startswith("//")]
        assert len(header) >= 2 and any(":param" in ln for ln in header), name
        params = {p for p in SAMPLE_PARAMS if f"${p}" in path.read_text()}
        assert params and all(f":param {p}" in "\n".join(header) for p in params), name


def _run(driver, name: str) -> list:
    records, _, _ = driver.execute_query(query(f"explore/{name}"), **SAMPLE_PARAMS)
    return records


def test_person_graph_returns_paths_over_the_whole_profile(driver, ann):
    records = _run(driver, "person_graph")
    assert records and all(isinstance(r["path"], GraphPath) for r in records)
    keys = {n.get("key") or n.get("id") for r in records for n in r["path"].nodes}
    assert ANN_KEYS | {"user_id:bob", ann["live"], ann["mid"], ann["tab"]} <= keys
    rel_types = {rel.type for r in records for rel in r["path"].relationships}
    assert rel_types == {"BELONGS_TO", "SEEN_WITH", "MERGED_INTO", "REFUSED_WITH"}


def test_listing_explore_queries_find_the_scenario(driver, ann):
    biggest = _run(driver, "biggest_profiles")
    assert biggest[0]["profile"] == ann["live"] and biggest[0]["identifiers"] == 6
    assert {r["profile"] for r in _run(driver, "suspicious_profiles")} == {ann["live"], ann["bob"]}
    merges = _run(driver, "recent_merges")
    assert [(r["retired"], r["into"], r["messageId"]) for r in merges] == [
        (ann["mid"], ann["live"], "m-link2"), (ann["tab"], ann["mid"], "m-link1")]
    [device] = _run(driver, "shared_devices")
    assert (device["device"], device["ownerUserId"], device["refusedUserId"], device["refusals"]) == (
        "phone-1", "ann", "bob", 3)
    assert len(device["path"].relationships) == 3


def test_explore_queries_run_on_an_empty_graph(clean_db):
    for name in EXPLORE:
        assert _run(clean_db, name) == []


def test_readme_snippet_names_every_explore_query():
    text = (Path(__file__).resolve().parents[2] / "docs" / "exploring.md").read_text()
    assert all(f"{name}.cypher" in text for name in EXPLORE)
