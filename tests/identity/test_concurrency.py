"""16 writers sending the same new identifiers at once produce exactly one profile."""
import threading

from tests.helpers import assert_invariants, count, partition
from tests.identity.factory import ingest, msg, store_for

WRITERS = 16


def _race(settings, driver, make_batch) -> list[Exception]:
    barrier = threading.Barrier(WRITERS)
    errors: list[Exception] = []

    def writer(n: int) -> None:
        store = store_for(driver, settings)  # each writer its own session and transactions
        batch = make_batch(n)
        barrier.wait()
        try:
            ingest(store, settings, batch)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_sixteen_writers_with_the_same_new_identifiers_make_one_profile(clean_db, settings, driver):
    for round_ in range(3):
        errors = _race(settings, driver, lambda n: [msg("identify", userId=f"u-{round_}", anonymousId=f"a-{round_}",
                                                         traits={"email": f"p{round_}@mail.io"})])
        assert errors == []
    assert len(partition(driver)) == 3
    assert count(driver, "MATCH (e:Event) RETURN count(e)") == 3 * WRITERS
    assert_invariants(driver)


def test_sixteen_writers_with_overlapping_identifiers_chain_into_one_profile(clean_db, settings, driver):
    # Writer n links device n to device n+1 and to the shared email: every writer's merge
    # touches profiles others are merging at the same moment.
    errors = _race(settings, driver, lambda n: [
        msg("track", anonymousId=f"dev-{n}", properties={"email": "same@mail.io"}),
        msg("track", anonymousId=f"dev-{n}", userId="same-user") if n % 5 == 0 else
        msg("alias", previousId=f"dev-{n}", userId="same-user"),
    ])
    assert errors == []
    assert len(partition(driver)) == 1
    assert_invariants(driver)


def test_the_same_message_sent_by_sixteen_writers_is_stored_once(clean_db, settings, driver):
    same = msg("track", userId="dup-user", event="Paid")
    errors = _race(settings, driver, lambda n: [dict(same)])
    assert errors == []
    assert count(driver, "MATCH (e:Event {messageId: $id}) RETURN count(e)", id=same["messageId"]) == 1
    assert count(driver, "MATCH (e:Event)-[r:SEEN_AS]->() RETURN count(r)") == 1
