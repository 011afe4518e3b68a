"""Type-aware filter values: which kind a value compares as, and ISO dates as epoch milliseconds.

Traits and event properties are stored as given, so a date is an ISO string. A filter value that
is an ISO date makes the comparison a date comparison: both sides become epoch milliseconds. The
same pattern is used in Cypher (`=~`, a Java full match) and here (`re.fullmatch`), and it only
admits strings Neo4j's `datetime()` parses, so a malformed date on one profile can never abort a
query: it simply does not compare.
"""
from __future__ import annotations

import math
import re
from datetime import date
from typing import Any

from app.db import INT64_MAX, INT64_MIN
from app.ingest.timestamps import DAY_MS

# Years 0001-9999 (Python's range), real calendar days (leap years included), hours 00-23,
# optional seconds and up to 9 fraction digits, offset Z or +-HH:MM (Java allows up to 18:00).
ISO_DATE = (
    r"(?!0000)(?:[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
    r"|[0-9]{4}-(?:0[13-9]|1[0-2])-(?:29|30)"
    r"|[0-9]{4}-(?:0[13578]|1[02])-31"
    r"|(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)-02-29)"
    r"(?:T(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,9})?)?"
    r"(?:Z|[+-](?:0[0-9]|1[0-7]):[0-5][0-9]|[+-]18:00)?)?"
)
_ISO = re.compile(ISO_DATE)
_PARTS = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
                    r"(?:T([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]+))?)?(Z|([+-])([0-9]{2}):([0-9]{2}))?)?")
_EPOCH = date(1970, 1, 1)

STRING, NUMBER, BOOLEAN, DATE = "string", "number", "boolean", "date"


def is_iso_date(value: Any) -> bool:
    return isinstance(value, str) and _ISO.fullmatch(value) is not None


def epoch_ms(value: str) -> int:
    """Epoch milliseconds of an ISO date as Neo4j's datetime(value).epochMillis computes it: no
    offset means UTC, sub-millisecond digits are truncated (floored)."""
    m = _PARTS.fullmatch(value)
    if m is None or not is_iso_date(value):
        raise ValueError(f"not an ISO date: {value!r}")
    y, mo, d, hh, mm, ss, frac, _, sign, oh, om = m.groups()
    days = (date(int(y), int(mo), int(d)) - _EPOCH).days
    ms = days * DAY_MS + int(hh or 0) * 3_600_000 + int(mm or 0) * 60_000 + int(ss or 0) * 1000
    ms += int((frac or "")[:3].ljust(3, "0"))
    if sign:
        offset = (int(oh) * 60 + int(om)) * 60_000
        ms -= offset if sign == "+" else -offset
    return ms


def span(value: str) -> tuple[int, int]:
    """The first and last epoch millisecond a filter date stands for. A date-only value is the
    whole UTC day, so every bound includes or excludes that day as a whole ('<= 2026-12-02' and a
    window ending on it include 23:59:59.999, '> 2026-12-02' starts at 2026-12-03, '= 2026-12-02'
    is any time that day); a date-time is one instant."""
    start = epoch_ms(value)
    return (start, start) if "T" in value else (start, start + DAY_MS - 1)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def scalar_kind(value: Any) -> str | None:
    """The kind a filter value compares as; None when it is not a usable scalar."""
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int):
        return NUMBER if INT64_MIN <= value <= INT64_MAX else None
    if isinstance(value, float):
        return NUMBER if math.isfinite(value) else None
    if isinstance(value, str):
        return DATE if is_iso_date(value) else STRING
    return None


def element_matches_kind(element: Any, kind: str) -> bool:
    """Whether a stored value takes part in a comparison of this kind (strict typing: a number
    stored as a string is a string)."""
    if kind == STRING:
        return isinstance(element, str)
    if kind == NUMBER:
        return is_number(element)
    if kind == BOOLEAN:
        return isinstance(element, bool)
    return is_iso_date(element)
