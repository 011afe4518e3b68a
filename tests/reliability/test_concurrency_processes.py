"""16 OS processes (spawned, each with its own driver and IdentityStore) send overlapping
identifiers for the same 20 people at once: one live profile per person, and no identifier on two
live profiles (cypher/ops/invariants.cypher). A batch whose transaction met conflicts for the
store's whole retry budget (answered 503 by the API) is sent again, as an SDK sends a 503 again."""
from __future__ import annotations

import multiprocessing as mp

from tests.helpers import assert_invariants, count, partition
from tests.reliability.overlapping_people import batches, people_as_seen

PROCESSES = 16
PEOPLE = 20
MESSAGES_PER_PROCESS = 40
TIMEOUT_S = 150


def _batches(proc: int) -> list[list[dict]]:
    return batches(proc, PEOPLE, MESSAGES_PER_PROCESS)


def _all_messages() -> list[dict]:
    return [m for proc in range(PROCESSES) for b in _batches(proc) for m in b]


def _worker(proc: int, uri: str, password: str, start, results) -> None:
    from neo4j import GraphDatabase

    from app.auth import Keyring
    from app.identity.rules import IdentityRules
    from app.identity.store import IdentityStore, StoreBusy
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
            prepared = service.batch({"batch": batch}, "web")
            while True:
                try:
                    stored += store.ingest(prepared).stored
                    break
                except StoreBusy:
                    # Conflicts for the whole retry budget (lock waits count): the API answers 503
                    # and the sender sends the batch again, as this writer does. Nothing was written.
                    continue
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
    # One live profile per person, holding exactly the identifiers of that person that were sent.
    assert got == people_as_seen(PEOPLE, set().union(*got))
    assert len(got) == PEOPLE
