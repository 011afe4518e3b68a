"""How a destination call fails, and how it is retried: exponential backoff with full jitter,
a vendor's Retry-After honoured, long waits handed back to the queue instead of slept."""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TypeVar

log = logging.getLogger("cdp.sync")
T = TypeVar("T")


class Retryable(Exception):
    """The vendor may accept the same request later (429, 5xx, network)."""

    def __init__(self, reason: str, retry_after: float | None = None, rate_limited: bool = False):
        super().__init__(reason)
        self.retry_after = retry_after
        self.rate_limited = rate_limited


# A URL's query string: an SDK's exception text quotes the URL it failed on, and Facebook's SDK sends
# its access token there.
_QUERY = re.compile(r"\?[^\s'\")]*")


def network_error(vendor: str, exc: BaseException) -> Retryable:
    """The vendor could not be reached (DNS, refused, reset, timed out): retry later. The reason names
    the failure without the URL's query, so no credential reaches a run record or a log line."""
    return Retryable(f"{vendor}: network error: {type(exc).__name__}: {_QUERY.sub('?…', str(exc))[:300]}")


class Permanent(Exception):
    """The vendor refused the request as it is; sending it again cannot help. `fatal`: it refuses every
    request (bad credentials, missing audience), so the run stops instead of dead-lettering each item."""

    def __init__(self, reason: str, fatal: bool = False):
        super().__init__(reason)
        self.fatal = fatal


class Deferred(Exception):
    """Waiting here would hold a worker; the run is re-queued to continue after `delay` seconds."""

    def __init__(self, reason: str, delay: float):
        super().__init__(reason)
        self.delay = delay


def retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header: delta seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


@dataclass
class RetryPolicy:
    max_attempts: int
    base: float
    cap: float
    max_inline_wait: float

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2^attempt)], so retrying workers spread out."""
        return random.uniform(0, min(self.cap, self.base * (2**attempt)))

    def call(self, fn: Callable[[], T], throttle: Callable[[], None], pause: Callable[[float], None]) -> T:
        """fn() with retries. `throttle` takes a rate-limit token before each attempt; `pause` tells every
        worker of the destination to hold off (a 429's Retry-After)."""
        last: Retryable | None = None
        for attempt in range(self.max_attempts):
            throttle()
            try:
                return fn()
            except Retryable as exc:
                last = exc
                wait = exc.retry_after if exc.retry_after is not None else self.backoff(attempt)
                if exc.rate_limited:
                    pause(wait)
                if attempt + 1 == self.max_attempts:
                    break
                if wait > self.max_inline_wait:
                    raise Deferred(str(exc), wait) from exc
                log.info(
                    "retrying",
                    extra={
                        "fields": {"attempt": attempt + 1, "wait": round(wait, 3), "reason": str(exc)[:200]}
                    },
                )
                if wait > 0:
                    time.sleep(wait)  # the backoff itself: the vendor asked us to slow down
        assert last is not None
        # Out of attempts now; the run continues later from its cursor rather than failing at once.
        raise Deferred(
            f"gave up after {self.max_attempts} attempts: {last}",
            last.retry_after if last.retry_after is not None else self.cap,
        )
