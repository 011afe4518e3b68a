"""Alias, and order independence: late and shuffled messages end in the same graph."""
import random

from tests.conftest import wipe
from tests.helpers import assert_invariants, count, partition
from tests.identity.factory import ingest, msg


def test_alias_merges_previous_anonymous_id_into_the_user(store, settings, driver):
    ingest(store, settings, [msg("page", anonymousId="anon-9"), msg("identify", userId="u9", traits={"email": "u9@m.io"})])
    ingest(store, settings, [msg("alias", previousId="anon-9", userId="u9")])
    assert partition(driver) == {frozenset({"anonymous_id:anon-9", "user_id:u9", "email:u9@m.io"})}
    assert_invariants(driver)


def test_alias_with_an_unseen_previous_id_creates_it_on_the_user(store, settings, driver):
    ingest(store, settings, [msg("alias", previousId="old-device", userId="u1")])
    assert partition(driver) == {frozenset({"anonymous_id:old-device", "user_id:u1"})}


def test_alias_of_two_known_user_ids_obeys_the_user_id_limit(store, settings, driver):
    ingest(store, settings, [msg("identify", userId="old-login"), msg("identify", userId="new-login")])
    result = ingest(store, settings, [msg("alias", previousId="old-login", userId="new-login")])
    assert result.refusals == 1
    assert partition(driver) == {frozenset({"user_id:old-login"}), frozenset({"user_id:new-login"})}


def _journey() -> list[dict]:
    """A person seen on web and mobile, identified by email then by login, plus a second person."""
    return [
        msg("page", anonymousId="web-a", timestamp="2026-01-01T10:00:00Z"),
        msg("identify", anonymousId="web-a", traits={"email": "Kim@Mail.io"}, timestamp="2026-01-01T10:05:00Z"),
        msg("screen", anonymousId="app-a", name="Home", timestamp="2026-01-02T08:00:00Z"),
        msg("identify", anonymousId="app-a", userId="kim", timestamp="2026-01-02T08:01:00Z"),
        msg("identify", userId="kim", traits={"email": "kim@mail.io", "phone": "(415) 555-0100"},
            timestamp="2026-01-03T00:00:00Z"),
        msg("alias", previousId="web-b", userId="kim", timestamp="2026-01-04T00:00:00Z"),
        msg("track", anonymousId="web-c", event="Viewed", timestamp="2026-01-01T00:00:00Z"),
        msg("identify", anonymousId="web-c", userId="lee", timestamp="2026-01-05T00:00:00Z"),
        msg("track", userId="lee", properties={"email": "lee@mail.io"}, timestamp="2026-01-06T00:00:00Z"),
    ]


EXPECTED = {
    frozenset({"anonymous_id:web-a", "anonymous_id:app-a", "anonymous_id:web-b", "email:kim@mail.io",
               "user_id:kim", "phone:+14155550100"}),
    frozenset({"anonymous_id:web-c", "user_id:lee", "email:lee@mail.io"}),
}


def test_in_order_delivery(store, settings, driver):
    for m in _journey():
        ingest(store, settings, [m])
    assert partition(driver) == EXPECTED


def test_late_and_shuffled_delivery_ends_in_the_same_graph(store, settings, driver):
    rng = random.Random(7)
    for trial in range(12):
        wipe(driver)
        messages = _journey()
        rng.shuffle(messages)
        # Mix single calls and batches of varied size, as real clients do.
        while messages:
            n = rng.randint(1, 4)
            ingest(store, settings, messages[:n])
            messages = messages[n:]
        assert partition(driver) == EXPECTED, f"trial {trial}"
        assert_invariants(driver)
        assert count(driver, "MATCH (e:Event) RETURN count(e)") == 9
