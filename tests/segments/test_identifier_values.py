"""Identifier condition values are normalised by the identity rules ingest uses, for preview, save
and upkeep alike; a value that could never be stored is a 400 naming its path."""
import pytest

from app.segments.upkeep import upkeep
from tests.helpers import ADMIN
from tests.identity.factory import ingest, msg


@pytest.fixture
def people(store, settings):
    ingest(store, settings, [
        msg("identify", userId="ann", traits={"email": "ann@example.org", "phone": "+14155550100"}),
        msg("identify", userId="bo", traits={"email": "bo@other.net"}),
    ])


def _preview(client, **body):
    return client.post("/v1/segments/preview", json=body, headers=ADMIN)


@pytest.mark.parametrize("text, count, printed", [
    ("identifiers.email = 'Ann@Example.org'", 1, "identifiers.email = 'ann@example.org'"),
    ("identifiers.email = '  ANN@EXAMPLE.ORG '", 1, "identifiers.email = 'ann@example.org'"),
    ("identifiers.phone = '+1 415 555 0100'", 1, "identifiers.phone = '+14155550100'"),
    ("identifiers.phone = '4155550100'", 1, "identifiers.phone = '+14155550100'"),
    ("identifiers.phone = '(415) 555-0100'", 1, "identifiers.phone = '+14155550100'"),
    ("identifiers.email IN ('x@y.org', 'BO@Other.NET')", 1,
     "identifiers.email IN ('x@y.org', 'bo@other.net')"),
    ("identifiers.email != 'Ann@Example.org'", 1, "identifiers.email != 'ann@example.org'"),
    ("identifiers.email NOT IN ('Ann@Example.org', 'Bo@Other.net')", 0,
     "identifiers.email NOT IN ('ann@example.org', 'bo@other.net')"),
    ("identifiers.user_id = ' ann '", 1, "identifiers.user_id = 'ann'"),
    ("identifiers.email_domain = 'Example.ORG'", 1, "identifiers.email_domain = 'example.org'"),
    # Partial values: only what cannot change their meaning.
    ("identifiers.email STARTS WITH 'ANN@'", 1, "identifiers.email STARTS WITH 'ann@'"),
    ("identifiers.email ENDS WITH '@OTHER.net'", 1, "identifiers.email ENDS WITH '@other.net'"),
    ("identifiers.phone STARTS WITH '+1 (415) 555'", 1, "identifiers.phone STARTS WITH '+1415555'"),
    ("identifiers.phone CONTAINS '555-0100'", 1, "identifiers.phone CONTAINS '5550100'"),
    # ids keep their case
    ("identifiers.user_id STARTS WITH 'AN'", 0, "identifiers.user_id STARTS WITH 'AN'"),
])
def test_identifier_values_match_as_ingest_stores_them(client, people, text, count, printed):
    r = _preview(client, text=text)
    assert r.status_code == 200, r.text
    assert (r.json()["count"], r.json()["text"]) == (count, printed)


@pytest.mark.parametrize("body, field, fragment", [
    ({"text": "identifiers.phone = '12345'"}, "text.value", "not a valid phone number"),
    ({"text": "identifiers.email = 'ann at example.org'"}, "text.value", "not a valid email address"),
    ({"text": "identifiers.user_id = '00000000-0000-0000-0000-000000000000'"}, "text.value", "blocked"),
    ({"text": "identifiers.anonymous_id = '   '"}, "text.value", "blank"),
    ({"text": "identifiers.email_domain = ' '"}, "text.value", "blank"),
    ({"text": "identifiers.phone STARTS WITH '--'"}, "text.value", "nothing is left"),
    ({"definition": {"type": "identifier", "kind": "email", "op": "in",
                     "value": ["ann@example.org", "nope"]}},
     "definition.value[1]", "not a valid email address"),
    ({"definition": {"type": "and", "filters": [
        {"type": "trait", "name": "plan", "op": "exists"},
        {"type": "not", "filter": {"type": "identifier", "kind": "phone", "op": "neq", "value": "555"}}]}},
     "definition.filters[1].filter.value", "not a valid phone number"),
])
def test_values_that_normalise_to_nothing_are_refused(client, body, field, fragment):
    r = _preview(client, **body)
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field and fragment in r.json()["error"], r.json()
    r = client.post("/v1/segments", json={"name": "never", **body}, headers=ADMIN)
    assert r.status_code == 400 and r.json()["field"] == field
    assert client.get("/v1/segments", headers=ADMIN).json() == {"segments": []}


def test_saved_segments_keep_normalised_values_for_upkeep(client, people, store, settings, clean_db):
    r = client.post("/v1/segments", json={"name": "cy", "text": "identifiers.email IN ('Cy@Example.ORG')"},
                    headers=ADMIN)
    assert r.status_code == 201, r.text
    saved = r.json()
    assert saved["memberCount"] == 0
    assert saved["definition"]["value"] == ["cy@example.org"] and saved["text"].endswith("('cy@example.org')")
    result = ingest(store, settings, [msg("identify", userId="cy", traits={"email": "cy@example.org"})])
    # Upkeep as the segments worker runs it, with the definition as saved.
    assert upkeep(clean_db, settings.neo4j_database, result.touched_profiles)["changes"] == 1
    assert client.get(f"/v1/segments/{saved['id']}", headers=ADMIN).json()["memberCount"] == 1
