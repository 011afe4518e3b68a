"""Profile ids a post-commit hook could not hand to Redis are kept and sent with its next call, so
profiles touched while Redis was away still reach segment upkeep and trait pushes."""
from __future__ import annotations

import socket

import pytest
import redis

from app.destinations.traitpush import TOUCHED_KEY, touched_recorder
from app.identity.store import IngestResult
from app.ingest.retained import RetainedIds
from app.segments.queue import DIRTY_KEY, UpkeepQueue


def _unreachable() -> redis.Redis:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.2, socket_timeout=0.2)


@pytest.fixture
def live(settings):
    client = redis.Redis.from_url(settings.redis_url)
    client.delete(DIRTY_KEY, TOUCHED_KEY)
    yield client
    client.delete(DIRTY_KEY, TOUCHED_KEY)
    client.close()


def _touched(*ids: str) -> IngestResult:
    return IngestResult(touched_profiles=set(ids))


def test_kept_ids_go_with_the_next_call_and_are_bounded():
    retained, sent = RetainedIds(limit=3), []

    def down(batch):
        raise redis.ConnectionError("away")

    with pytest.raises(redis.ConnectionError):
        retained.send({"a", "b"}, down)
    with pytest.raises(redis.ConnectionError):
        retained.send({"c", "d"}, down)
    assert len(retained) == 3  # the limit: the rest is the reconcile's
    retained.send({"e"}, sent.append)
    assert len(sent) == 1 and len(sent[0]) == 4 and "e" in sent[0] and len(retained) == 0
    with pytest.raises(ValueError):  # not a Redis error: not kept (the hook's own bug)
        retained.send({"f"}, lambda batch: (_ for _ in ()).throw(ValueError("bug")))
    assert len(retained) == 0


def test_a_backlog_goes_in_chunks_and_only_the_undelivered_ones_are_kept():
    retained, calls = RetainedIds(chunk=2), []

    def down(batch):
        raise redis.ConnectionError("away")

    with pytest.raises(redis.ConnectionError):
        retained.send({"a", "b", "c", "d", "e"}, down)

    def fails_third(batch):
        if len(calls) == 2:
            raise redis.ConnectionError("away again")
        calls.append(batch)

    with pytest.raises(redis.ConnectionError):
        retained.send(set(), fails_third)
    assert calls == [{"a", "b"}, {"c", "d"}] and len(retained) == 1  # only "e" is kept
    retained.send(set(), calls.append)
    assert calls[-1] == {"e"} and len(retained) == 0


def test_segment_upkeep_gets_the_profiles_touched_while_redis_was_away(live):
    away = UpkeepQueue(_unreachable())
    with pytest.raises(redis.RedisError):
        away.on_commit(_touched("p-while-away"))
    back = UpkeepQueue(live)
    back.retained = away.retained  # the same process, its Redis back
    back.on_commit(_touched("p-after"))
    assert {m.decode() for m in live.zrange(DIRTY_KEY, 0, -1)} == {"p-while-away", "p-after"}


def test_trait_pushes_get_the_profiles_touched_while_redis_was_away(live):
    retained = RetainedIds()
    with pytest.raises(redis.RedisError):
        touched_recorder(_unreachable(), retained)(_touched("p-while-away"))
    touched_recorder(live, retained)(_touched("p-after"))  # the same process, its Redis back
    assert {m.decode() for m in live.smembers(TOUCHED_KEY)} == {"p-while-away", "p-after"}
