"""16 OS processes (spawned, each with its own driver and IdentityStore) send overlapping
identifiers for the same 20 people at once: one live profile per person, and no identifier on two
live profiles (cypher/ops/invariants.cypher)."""
from __future__ import annotations

import multiprocessing as mp
import random

from tests.helpers import assert_invariants, count, partition

PROCESSES = 16
PEOPLE = 20
MESSAGES_PER_PROCESS = 40
TIMEOUT_S = 150


def _person_keys(p: int) -> dict[str, list[str]]:
    return {"user": [f"cp{p}-user"], "anon": [f"cp{p}-dev{i}" for i in range(3)],
            "email": [f"cp{p}-{i}@mail.io" for i in range(2)], "phone": [f"+1415555{300 + 2 * p + i:04d}" for i in range(2)]}


def expected_partition() -> set[frozenset[str]]:
    out = set()
    for p in range(PEOPLE):
        k = _person_keys(p)
        out.add(frozenset([f"user_id:{k['user'][0]}"] + [f"anonymous_id:{a}" for a in k["anon"]]
                          + [f"email:{e}" for e in k["email"]] + [f"phone:{x}" for x in k["phone"]]))
    return out


def _message(rng: random.Random, proc: int, n: int, p: int, pair: tuple[str, str]) -> dict:
    """A message joining two of person p's identifiers, of two different kinds."""
    k = _person_keys(p)
    m: dict = {"type": "identify", "messageId": f"proc{proc}-{n}",
               "timestamp": f"2026-02-01T00:{rng.randrange(60):02d}:{rng.randrange(60):02d}Z"}
    bag: dict = {}
    for kind in pair:
        if kind == "user":
            m["userId"] = k["user"][0]
        elif kind == "anon":
            m["anonymousId"] = rng.choice(k["anon"])
        else:
            bag[kind] = rng.choice(k[kind])
    if "userId" not in m and "anonymousId" not in m:
        m["anonymousId"] = rng.choice(k["anon"])
    if bag and m["type"] == "identify":
        m["traits"] = bag
    return m


def _batches(proc: int) -> list[list[dict]]:
    rng = random.Random(1000 + proc)
    kinds = ["user", "anon", "email", "phone"]
    msgs = []
    for n in range(MESSAGES_PER_PROCESS):
        p = rng.randrange(PEOPLE)
        msgs.append(_message(rng, proc, n, p, tuple(rng.sample(kinds, 2))))
    rng.shuffle(msgs)
    out, i = [], 0
    while i < len(msgs):
        size = rng.randint(1, 8)
        out.append(msgs[i:i + size])
        i += size
    return out


def _all_messages() -> list[dict]:
    return [m for proc in range(PROCESSES) for b in _batches(proc) for m in b]


def _worker(proc: int, uri: str, password: str, start, results) -> None:
    from neo4j import GraphDatabase

    from app.auth import Keyring
    from app.identity.rules import IdentityRules
    from app.identity.store import IdentityStore
    from app.ingest.service import IngestService
    from app.settings import Settings

    settings = Settings(neo4j_uri=uri, neo4j_password=password, log_level="WARNING")
    driver = GraphDatabase.driver(uri, auth=(settings.neo4j_user, password))
    try:
        rules = IdentityRules(settings)
        store = IdentityStore(driver, settings.neo4j_database, rules, settings.suppression_salt)
        service = IngestService(settings, Keyring(settings), rules)
        batches = _batches(proc)
        start.wait(60)
        stored = 0
        for batch in batches:
            stored += store.ingest(service.batch({"batch": batch}, "web")).stored
        results.put((proc, stored, None))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        results.put((proc, 0, f"{type(exc).__name__}: {exc}"))
    finally:
        driver.close()


def test_sixteen_processes_with_overlapping_identifiers_make_one_profile_per_person(clean_db, settings, driver):
    ctx = mp.get_context("spawn")
    start = ctx.Barrier(PROCESSES)
    results = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(n, settings.neo4j_uri, settings.neo4j_password, start, results),
                         daemon=True) for n in range(PROCESSES)]
    for p in procs:
        p.start()
    try:
        outcomes = [results.get(timeout=TIMEOUT_S) for _ in procs]
    finally:
        for p in procs:
            p.join(5)
            if p.is_alive():
                p.kill()
    errors = [o for o in outcomes if o[2]]
    assert errors == []
    sent = _all_messages()
    assert sum(o[1] for o in outcomes) == len(sent)
    assert count(driver, "MATCH (e:Event) RETURN count(e)") == len(sent)
    assert_invariants(driver)  # zero identifiers with two (or no) live profiles
    got = partition(driver)
    expected = expected_partition()
    seen = set().union(*got)
    # One live profile per person, holding exactly the identifiers of that person that were sent.
    assert got == {frozenset(k for k in person if k in seen) for person in expected} - {frozenset()}
    assert len(got) == PEOPLE
