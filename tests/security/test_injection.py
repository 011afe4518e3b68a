"""Cypher injection is impossible by construction (every user string is a query parameter): hostile
strings as ids, event names, trait names and values, profile refs and search text are stored and
read back verbatim, never change the graph's shape, and never cause a 5xx."""
from __future__ import annotations

from urllib.parse import quote

from tests.helpers import ADMIN, basic, count, new_id

HOSTILE = [
    "' OR 1=1 //",
    "}) DETACH DELETE n //",
    "`x` }) MATCH (n) DETACH DELETE n //",
    "$param",
    "\" OR \"\"=\"",
    "') WITH 1 AS x MATCH (n) DETACH DELETE n RETURN x //",
    "x\\' }) RETURN 1 UNION MATCH (n) SET n.pwned = true //",
]


def _graph(driver) -> dict:
    return {label: count(driver, f"MATCH (n:{label}) RETURN count(n)") for label in ("Identifier", "Profile", "Event")}


def _not_5xx(r):
    assert r.status_code < 500, (r.request.url, r.status_code, r.text)
    return r


def test_hostile_strings_through_the_api_change_nothing_but_what_they_should(client, clean_db):
    for i, evil in enumerate(HOSTILE):
        user = f"{evil}#{i}"
        traits = {evil: evil, "plan": evil, "nested": {evil: [evil]}}
        for path, body in (("/v1/identify", {"userId": user, "traits": traits}),
                           ("/v1/track", {"userId": user, "event": evil, "properties": {evil: evil},
                                          "messageId": f"{evil}-{new_id()}"})):
            r = client.post(path, json=body, headers=basic())
            assert r.status_code == 200, (path, evil, r.text)

    n = len(HOSTILE)
    assert _graph(clean_db) == {"Identifier": n, "Profile": n, "Event": 2 * n}
    assert count(clean_db, "MATCH (n) WHERE n.pwned IS NOT NULL RETURN count(n)") == 0

    for i, evil in enumerate(HOSTILE):
        user = f"{evil}#{i}"
        found = _not_5xx(client.get("/v1/profiles", params={"q": f"user_id:{user}"}, headers=ADMIN))
        assert found.status_code == 200
        [hit] = found.json()["profiles"]
        assert hit["identifiers"] == [{"type": "user_id", "value": user}]
        profile = _not_5xx(client.get(f"/v1/profiles/{quote(hit['id'], safe='')}", headers=ADMIN))
        assert profile.status_code == 200
        stored = profile.json()["traits"]  # stored verbatim, names and values
        assert stored["plan"]["value"] == evil and stored[evil]["value"] == evil, stored
        for ref in (evil, f"user_id:{user}", f"email:{evil}", f"profile:{evil}"):
            for suffix in ("", "/events", "/graph", "/history"):
                _not_5xx(client.get(f"/v1/profiles/{quote(ref, safe='')}{suffix}", headers=ADMIN))
        _not_5xx(client.get(f"/v1/profiles/{quote(hit['id'], safe='')}/events", params={"event": evil},
                            headers=ADMIN))
        for q in (evil, f"{evil}*", f"email:{evil}"):
            _not_5xx(client.get("/v1/profiles", params={"q": q}, headers=ADMIN))
        _not_5xx(client.get(f"/v1/events/{quote(evil, safe='')}", headers=ADMIN))
        _not_5xx(client.get("/v1/profiles", params={"q": "x", "cursor": evil}, headers=ADMIN))

    assert _graph(clean_db) == {"Identifier": n, "Profile": n, "Event": 2 * n}  # reads wrote nothing
