"""The group-commit writer: messages routed to writers by device, requests answered when every
part is durable, against the real Neo4j."""
import asyncio
import threading

import pytest
from prometheus_client import REGISTRY

from app.identity.store import IdentityStore, IngestResult
from app.ingest.writer import GroupCommitWriter, route_key, shard_of, split_by_writer
from tests.helpers import assert_invariants, count, run_on_own_thread
from tests.identity.factory import msg


def prepared(service, messages):
    return service.batch({"batch": messages}, "web")


async def _run(writer: GroupCommitWriter, *requests):
    await writer.start()
    try:
        return await asyncio.gather(*(writer.submit(r) for r in requests), return_exceptions=True)
    finally:
        await writer.close()


def test_a_message_is_routed_by_its_device_else_its_strongest_identifier(service):
    with_device, without = prepared(service, [
        msg("identify", userId="u-1", anonymousId="dev-1", traits={"email": "ann@mail.io"}),
        msg("identify", userId="u-1", traits={"email": "ann@mail.io"}),
    ])
    assert route_key(with_device) == "anonymous_id:dev-1"
    assert route_key(without) == "user_id:u-1"


def test_every_message_of_a_device_goes_to_the_same_writer(service):
    messages = prepared(service, [msg(anonymousId=f"dev-{n % 7}", userId=f"u-{n}") for n in range(70)])
    writers_of_device: dict[str, set[int]] = {}
    for m in messages:
        writers_of_device.setdefault(route_key(m), set()).add(shard_of(m, 4))
    assert len(writers_of_device) == 7
    assert all(len(w) == 1 for w in writers_of_device.values())
    assert len({w for ws in writers_of_device.values() for w in ws}) > 1  # and devices spread out
    assert {shard_of(m, 1) for m in messages} == {0}


class _RecordingStore(IdentityStore):
    """The real store, noting each transaction's messages by `label` (by default, their writer of 4)."""

    def __init__(self, *args, label=lambda m: shard_of(m, 4), **kwargs):
        super().__init__(*args, **kwargs)
        self.label = label
        self.groups: list[set] = []
        self.lock = threading.Lock()

    def ingest(self, messages):
        with self.lock:
            self.groups.append({self.label(m) for m in messages})
        return super().ingest(messages)


def test_a_batch_spanning_writers_is_stored_whole_before_its_answer(store, service, clean_db):
    recording = _RecordingStore(store.driver, store.database, store.rules)
    writer = GroupCommitWriter(recording, max_messages=500, writers=4)
    batch = prepared(service, [msg(anonymousId=f"dev-{n}", userId=f"u-{n}") for n in range(40)])
    other = prepared(service, [msg(anonymousId=f"dev-{n}") for n in range(40)])
    result, other_result = run_on_own_thread(lambda: _run(writer, batch, other))
    assert isinstance(result, IngestResult) and isinstance(other_result, IngestResult)
    assert result.stored >= 40 and result.new_profiles >= 1
    assert count(clean_db, "MATCH (e:Event) RETURN count(e)") == 80
    assert len(recording.groups) >= 4  # the batch was split ...
    assert all(len(g) == 1 for g in recording.groups)  # ... and no transaction mixed writers
    assert count(clean_db, "MATCH (p:Profile) WHERE p.retiredAt IS NULL RETURN count(p)") == 40
    assert_invariants(clean_db)


def test_retries_spanning_writers_are_counted_as_duplicates_once(store, service, clean_db):
    messages = [msg(anonymousId=f"dev-{n}") for n in range(30)]
    first = run_on_own_thread(lambda: _run(GroupCommitWriter(store, 500, writers=3), prepared(service, messages)))[0]
    again = run_on_own_thread(lambda: _run(GroupCommitWriter(store, 500, writers=3), prepared(service, messages)))[0]
    assert (first.stored, first.duplicates) == (30, 0)
    assert (again.stored, again.duplicates) == (0, 30)
    assert sorted(again.duplicate_ids) == sorted(m["messageId"] for m in messages)
    assert count(clean_db, "MATCH (e:Event) RETURN count(e)") == 30


class _FailingDevice(IdentityStore):
    """The real store, except that a transaction carrying `dev-bad` fails."""

    def ingest(self, messages):
        if any(route_key(m) == "anonymous_id:dev-bad" for m in messages):
            raise RuntimeError("this part failed")
        return super().ingest(messages)


def test_a_failed_part_fails_its_request_after_the_other_parts_are_done(store, service, clean_db):
    failing = _FailingDevice(store.driver, store.database, store.rules)
    devices = [f"dev-{n}" for n in range(12)]
    writer = GroupCommitWriter(failing, 500, writers=2)
    bad_writer = shard_of(prepared(service, [msg(anonymousId="dev-bad")])[0], 2)
    other = next(d for d in devices if shard_of(prepared(service, [msg(anonymousId=d)])[0], 2) != bad_writer)
    request = prepared(service, [msg(anonymousId="dev-bad"), msg(anonymousId=other)])
    healthy = prepared(service, [msg(anonymousId=other)])
    failed, ok = run_on_own_thread(lambda: _run(writer, request, healthy))
    assert isinstance(failed, RuntimeError)
    assert isinstance(ok, IngestResult) and ok.stored >= 1
    # The healthy part of the failed request is stored (its retry dedups it); the failed part is not.
    assert count(clean_db, "MATCH (e:Event)-[:SEEN_AS]->(:Identifier {key: 'anonymous_id:dev-bad'}) "
                           "RETURN count(e)") == 0
    assert count(clean_db, "MATCH (e:Event) RETURN count(e)") == 2


def test_closing_writes_what_every_writer_has_queued(store, service, clean_db):
    async def scenario():
        writer = GroupCommitWriter(store, 500, writers=3)
        await writer.start()
        # Tasks start in the order gathered: every request is queued before close() begins.
        return await asyncio.gather(*(writer.submit(prepared(service, [msg(anonymousId=f"dev-{n}")]))
                                      for n in range(20)), writer.close())

    *results, _ = run_on_own_thread(scenario)
    assert all(r.stored >= 1 for r in results)
    assert count(clean_db, "MATCH (e:Event) RETURN count(e)") == 20


def test_messages_of_a_request_that_share_an_identifier_stay_in_one_part(settings, service):
    messages = prepared(service, [
        msg("identify", userId="u-x", anonymousId="dev-a"),
        *[msg(anonymousId=f"dev-{n}") for n in range(20)],
        msg("identify", anonymousId="dev-b", traits={"email": "x@mail.io"}),
        msg("alias", previousId="u-x", userId="u-y"),  # typed against u-x, a userId in this request
        msg("identify", anonymousId="dev-c", traits={"email": "x@mail.io"}),
        msg("identify", userId="u-y", anonymousId="dev-b"),
    ])
    parts = split_by_writer(messages, 4)
    linked = [m for m in messages if m.message_id in {messages[0].message_id, *(x.message_id for x in messages[-4:])}]
    part_of = {m.message_id: n for n, part in parts.items() for m in part}
    assert len({part_of[m.message_id] for m in linked}) == 1
    assert len(parts) > 1  # the unrelated devices spread out
    for part in parts.values():  # each part keeps the request's order
        assert [messages.index(m) for m in part] == sorted(messages.index(m) for m in part)


class _HeldStore(IdentityStore):
    """The real store, holding every transaction until the test lets them go."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.entered, self.release = threading.Event(), threading.Event()

    def ingest(self, messages):
        self.entered.set()
        assert self.release.wait(10)
        return super().ingest(messages)


def test_messages_waiting_for_their_writer_are_counted_per_writer(store, service, clean_db):
    def queued() -> float:
        return REGISTRY.get_sample_value("cdp_ingest_writer_queued_messages", {"writer": "0"}) or 0.0

    held = _HeldStore(store.driver, store.database, store.rules)
    base = queued()
    seen = []

    async def look_then_release():
        seen.append(queued() - base)  # runs after both submissions below have queued
        held.release.set()

    async def scenario():
        writer = GroupCommitWriter(held, 500, writers=1)
        await writer.start()
        first = asyncio.create_task(writer.submit(prepared(service, [msg(anonymousId="dev-0")])))
        assert await asyncio.to_thread(held.entered.wait, 10)  # the writer holds the first group
        await asyncio.gather(writer.submit(prepared(service, [msg(anonymousId=f"dev-{n}") for n in (1, 2, 3)])),
                             writer.submit(prepared(service, [msg(anonymousId=f"dev-{n}") for n in (4, 5, 6)])),
                             look_then_release())
        await first
        await writer.close()
        seen.append(queued() - base)

    run_on_own_thread(scenario)
    assert seen == [6, 0]
    assert count(clean_db, "MATCH (e:Event) RETURN count(e)") == 7


def test_single_calls_go_to_their_own_writer_and_batches_to_the_batch_writers(service):
    writer = GroupCommitWriter(None, 500, writers=2, call_writers=1)
    call = prepared(service, [msg(anonymousId="dev-1")])
    batch = prepared(service, [msg(anonymousId=f"dev-{n}") for n in range(20)])
    assert writer.parts(call) == {2: call}
    assert set(writer.parts(batch)) == {0, 1}  # routed by device among the batch writers
    assert GroupCommitWriter(None, 500, writers=2).parts(call) == split_by_writer(call, 2)  # no call writer
    two_call_writers = GroupCommitWriter(None, 500, writers=2, call_writers=2)
    lanes = {n for d in range(20) for n in two_call_writers.parts(prepared(service, [msg(anonymousId=f"dev-{d}")]))}
    assert lanes == {2, 3}


def test_no_transaction_mixes_single_calls_with_batches(store, service, clean_db):
    labelled = _RecordingStore(store.driver, store.database, store.rules,
                               label=lambda m: "call" if m.message_id.startswith("call-") else "batch")
    writer = GroupCommitWriter(labelled, 500, writers=2, call_writers=1)
    calls = [prepared(service, [msg(anonymousId=f"dev-{n}", messageId=f"call-{n}")]) for n in range(30)]
    batches = [prepared(service, [msg(anonymousId=f"dev-{n}", messageId=f"batch-{b}-{n}") for n in range(10)])
               for b in range(3)]
    results = run_on_own_thread(lambda: _run(writer, *calls, *batches))
    assert all(isinstance(r, IngestResult) for r in results)
    assert count(clean_db, "MATCH (e:Event) RETURN count(e)") == 60
    # A device's calls and its batch messages met in different writers and still make one person.
    assert count(clean_db, "MATCH (p:Profile) WHERE p.retiredAt IS NULL RETURN count(p)") == 30
    assert labelled.groups and all(len(g) == 1 for g in labelled.groups)
    assert {"call", "batch"} == set().union(*labelled.groups)
    assert_invariants(clean_db)


@pytest.mark.parametrize("name, value", [("group_commit_writers", 0), ("group_commit_call_writers", -1),
                                         ("group_commit_max_messages", 0)])
def test_writer_settings_out_of_range_are_refused_by_name(name, value):
    from pydantic import ValidationError

    from app.settings import Settings

    with pytest.raises(ValidationError) as refused:
        Settings(**{name: value})
    assert refused.value.errors()[0]["loc"] == (name,)


def test_no_call_writer_is_a_valid_setting():
    from app.settings import Settings

    assert Settings(group_commit_call_writers=0).group_commit_call_writers == 0
