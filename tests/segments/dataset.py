"""A small fixed population, ingested through the real path, with every awkward case a filter meets:
numbers stored as strings, lists, nested traits, valid and invalid ISO dates, several emails,
merged (retired) profiles, several sources, events with typed properties inside and outside windows."""
from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from app.db import query
from tests.identity.factory import ingest, msg
from tests.segments.reference import Snapshot

NOW_DT = datetime(2026, 3, 1, tzinfo=UTC)
NOW = int(NOW_DT.timestamp() * 1000)

PLANS = ["pro", "free", "trial", "Pro", 5, None]
AGES = [18, 31, 45, 30.5, "31", None]
VIPS = [True, False, "true", None]
SIGNUPS = ["2026-01-15", "2025-12-31T23:00:00-02:00", "2026-02-30", "2026-02-20T10:00:00Z", "soon",
           "2026-02-27T12:30:00+01:00", None]
CITIES = ["Oslo", "Bergen", "oslo", None]
TAGS = [["a", "b"], ["c"], ["a"], None]
SCORES = [[1, 2, 3], [10], None]
DOMAINS = ["acme.io", "mail.com", "x.org"]
PHONES = ["+14155552671", "+4722334455", "+447911123456"]
EVENTS = ["A", "B", "Order Completed"]
CURRENCIES = ["EUR", "USD", "eur"]
WHENS = ["2026-02-01", "2026-02-28T23:59:59Z", "2026-13-01", "later"]

TRAIT_NAMES = ["plan", "age", "vip", "signup", "address.city", "tags", "scores", "First Name", "missing"]
PROP_NAMES = ["amount", "currency", "gift", "when", "items", "nothing"]


def _iso(days_ago: float) -> str:
    return (NOW_DT - timedelta(days=days_ago)).isoformat().replace("+00:00", "Z")


def _traits(rng: random.Random) -> dict:
    t = {}
    for name, pool in (("plan", PLANS), ("age", AGES), ("vip", VIPS), ("signup", SIGNUPS), ("tags", TAGS),
                       ("scores", SCORES)):
        value = rng.choice(pool)
        if value is not None:
            t[name] = value
    city = rng.choice(CITIES)
    if city:
        t["address"] = {"city": city}
    if rng.random() < 0.3:
        t["First Name"] = rng.choice(["Ann", "Bo"])
    return t


def _events(rng: random.Random, ids: dict) -> list[dict]:
    out = []
    for _ in range(rng.randrange(1, 9)):
        props = {}
        if rng.random() < 0.8:
            props["amount"] = rng.choice([5, 20, 99.5, 150, "20"])
        if rng.random() < 0.6:
            props["currency"] = rng.choice(CURRENCIES)
        if rng.random() < 0.4:
            props["gift"] = rng.choice([True, False])
        if rng.random() < 0.3:
            props["when"] = rng.choice(WHENS)
        if rng.random() < 0.2:
            props["items"] = rng.choice([["x", "y"], [1, 2]])
        out.append(msg("track", event=rng.choice(EVENTS), properties=props,
                       timestamp=_iso(rng.uniform(0, 120)), **ids))
    if rng.random() < 0.3:
        out.append(msg("page", name="Home", timestamp=_iso(rng.uniform(0, 60)), **ids))
    return out


def build(store, settings, people: int = 26, seed: int = 20260301) -> None:
    """Ingest the population; some people arrive anonymously first and are merged later."""
    rng = random.Random(seed)
    for n in range(people):
        user, device = f"seg-u{n}", f"seg-d{n}"
        traits = _traits(rng)
        if rng.random() < 0.6:
            traits["email"] = f"p{n}@{rng.choice(DOMAINS)}"
        if rng.random() < 0.3:
            traits["phone"] = rng.choice(PHONES)[:-1] + str(n % 10)
        source = rng.choice(["web", "mobile", "server"])
        anonymous_first = rng.random() < 0.3
        if n % 7 == 6:  # anonymous only: no userId ever
            ingest(store, settings, _events(rng, {"anonymousId": device}), source)
            continue
        if anonymous_first:
            ingest(store, settings, _events(rng, {"anonymousId": device}), "web")
        ingest(store, settings, [msg("identify", userId=user, traits=traits, timestamp=_iso(rng.uniform(1, 90)))]
               + _events(rng, {"userId": user}), source)
        if anonymous_first:  # merges the device's profile into the user's
            ingest(store, settings, [msg("identify", userId=user, anonymousId=device, timestamp=_iso(0.5))], source)
        if rng.random() < 0.25:  # a second email, so "any email" semantics matter
            ingest(store, settings, [msg("identify", userId=user, traits={"email": f"q{n}@{rng.choice(DOMAINS)}"},
                                         timestamp=_iso(0.2))], source)
    store.driver.execute_query("MERGE (:TraitKey {name: 'First Name'})")


_SNAPSHOT = """
MATCH (p:Profile) WHERE p.retiredAt IS NULL
RETURN p.id AS id, properties(p) AS props,
       COLLECT { MATCH (p)<-[:BELONGS_TO]-(i:Identifier) RETURN [i.type, i.value] } AS identifiers,
       COLLECT { MATCH (p)<-[:BELONGS_TO]-(:Identifier)<-[:SEEN_AS]-(e:Event) RETURN properties(e) } AS events,
       COLLECT { MATCH (p)-[:IN_SEGMENT]->(s:Segment) RETURN s.id } AS segments
"""


def snapshots(driver) -> list[Snapshot]:
    """What the reference evaluator sees: the live profiles as stored, read independently of the compiler."""
    records, _, _ = driver.execute_query(_SNAPSHOT)
    return [Snapshot(r["id"], r["props"], [tuple(x) for x in r["identifiers"]], r["events"], set(r["segments"]))
            for r in records]


def matching_ids(driver, compiled) -> set[str]:
    records, _, _ = driver.execute_query(compiled.render(query("segments/preview")),
                                         {**compiled.params, "sample": 1_000_000})
    return set(records[0]["sample"])
