"""Destination clients: one per vendor, each through the vendor's official SDK (or plain HTTP for
webhooks). A client sends one chunk and reports per-item failures; a whole-request refusal raises
Permanent (the engine bisects to find the poison item); transient trouble raises Retryable inside
`Caller.call`, which retries, rate-limits and defers."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from app.destinations.mapping import Member
from app.destinations.retry import RetryPolicy
from app.settings import Settings

T = TypeVar("T")
Failures = list[tuple[Member, str]]


@dataclass
class Caller:
    """Every vendor request goes through here: a rate-limit token, then retries with backoff."""

    policy: RetryPolicy
    throttle: Callable[[], None]
    pause: Callable[[float], None]

    def call(self, fn: Callable[[], T]) -> T:
        return self.policy.call(fn, self.throttle, self.pause)


class DestinationClient(ABC):
    # Most members one request may carry (the vendor's documented limit, or 1 for per-contact APIs).
    max_batch: int = 1
    # Whether exits can be sent at all (HubSpot needs a membership property for that).
    can_remove: bool = True

    def removes(self, erased: bool) -> bool:
        """Whether this exit is sent: any exit when the client can remove; an erased person's also
        when the client forwards erasures (HubSpot's GDPR delete)."""
        return self.can_remove

    @abstractmethod
    def addressable(self, member: Member) -> bool:
        """Whether the member has what the vendor keys contacts by; others are skipped."""

    @abstractmethod
    def add(self, members: list[Member]) -> Failures:
        """Create or update these members (idempotent)."""

    @abstractmethod
    def remove(self, members: list[Member]) -> Failures:
        """Remove or unsubscribe these members (idempotent: one already gone is fine)."""

    def update(self, members: list[Member]) -> Failures:
        """Push changed fields of current members; an upsert by default."""
        return self.add(members)

    def close(self) -> None:
        pass


def build_client(
    dest: dict, secrets: dict[str, str], options: dict, settings: Settings, caller: Caller, context: dict
) -> DestinationClient:
    """context: {syncId, runId, segmentId}: what webhook batches and Facebook sessions are tagged with."""
    kind = dest["type"]
    if kind == "resend":
        from app.destinations.clients.resend import ResendClient

        return ResendClient(dest["config"], secrets, options, settings, caller)
    if kind == "hubspot":
        from app.destinations.clients.hubspot import HubSpotClient

        return HubSpotClient(dest["config"], secrets, settings, caller)
    if kind == "facebook":
        from app.destinations.clients.facebook import FacebookClient

        return FacebookClient(dest["config"], secrets, settings, caller, context)
    if kind == "webhook":
        from app.destinations.clients.webhook import WebhookClient

        return WebhookClient(dest["config"], secrets, caller, context)
    raise ValueError(f"unknown destination type {kind!r}")
