"""Clock-skew correction, as Segment does it.

A device's clock may be wrong, but the difference between when it says the event happened
(originalTimestamp) and when it says it sent it (sentAt) is right. So:
    timestamp = receivedAt - (sentAt - originalTimestamp)
Without sentAt there is nothing to correct against and the client's timestamp stands; without
any client timestamp the event happened when it was received. An event cannot have happened after
it was received: a later time (a clock ahead with no sentAt to correct it, or a message dated after
its own sentAt) becomes receivedAt, while originalTimestamp keeps what the client said. Left in
the future, it would set lastSeen ahead and keep the event in every "within the last N days".
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone


@dataclass(frozen=True, slots=True)
class Timestamps:
    timestamp: datetime
    original_timestamp: datetime | None
    sent_at: datetime | None
    received_at: datetime


def correct(original: datetime | None, sent_at: datetime | None, received_at: datetime) -> Timestamps:
    if original is None:
        ts = received_at
    elif sent_at is None:
        ts = original
    else:
        ts = received_at - (sent_at - original)
    return Timestamps(min(ts, received_at), original, sent_at, received_at)


def iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def iso_ms(ms: int | None) -> str | None:
    """Epoch milliseconds (how the graph stores times) -> ISO 8601 UTC, as events show them."""
    return None if ms is None else iso(_EPOCH + timedelta(milliseconds=ms))


DAY_MS = 86_400_000


def now_ms() -> int:
    """Now in epoch milliseconds, the unit every time in the graph is stored in."""
    return int(time.time() * 1000)


def epoch_ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)
