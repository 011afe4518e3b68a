"""Resend audience contacts through the official `resend` SDK: create (update when it exists),
update, remove or unsubscribe. Resend's contact API takes one contact per request."""

from __future__ import annotations

import threading
from typing import Any

import requests
import resend
from resend.exceptions import ResendError
from resend.http_client import HTTPClient

from app.destinations.clients import Caller, DestinationClient, Failures
from app.destinations.mapping import Member
from app.destinations.retry import Permanent, Retryable, network_error, retry_after_seconds
from app.settings import Settings

# The SDK keeps its key and base URL in module globals: set them for each call under a lock.
_SDK_LOCK = threading.Lock()


class _SessionHTTPClient(HTTPClient):
    """The SDK's documented hook for its transport, with a pooled session: its default opens a new
    connection per request, which would cap a 100k-contact export at the TCP handshake rate."""

    def __init__(self, timeout: float = 30):
        self.session = requests.Session()
        self.timeout = timeout

    def request(self, method, url, headers, json=None, files=None, data=None):
        try:
            resp = self.session.request(
                method=method,
                url=url,
                headers=headers,
                json=json if data is None else None,
                data=data,
                files=files,
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise RuntimeError(f"Request failed: {exc}") from exc  # the SDK turns this into HttpClientError
        return resp.content, resp.status_code, resp.headers


_TRANSPORT = _SessionHTTPClient()


def _status(exc: ResendError) -> int:
    try:
        return int(exc.code)
    except (TypeError, ValueError):
        return 500


def _raise_classified(exc: ResendError) -> int:
    """Raise Retryable for what may pass later; otherwise return the HTTP status of the refusal."""
    if exc.error_type == "HttpClientError":  # no answer at all (the SDK's code for it reads 500)
        raise network_error("resend", exc) from exc
    status = _status(exc)
    headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
    if status == 429:
        raise Retryable(
            f"resend 429: {exc.message}", retry_after_seconds(headers.get("retry-after")), rate_limited=True
        ) from exc
    if status >= 500:
        raise Retryable(f"resend {status}: {exc.message}") from exc
    return status


class ResendClient(DestinationClient):
    max_batch = 1

    def __init__(self, config: dict, secrets: dict, options: dict, settings: Settings, caller: Caller):
        self.audience = config["audienceId"]
        self.api_key = secrets["apiKey"]
        self.api_url = settings.resend_api_url.rstrip("/")
        self.unsubscribe_on_exit = options.get("exitAction") == "unsubscribe"
        self.caller = caller

    def addressable(self, member: Member) -> bool:
        return bool(member.email)

    def _sdk(self, fn) -> Any:
        with _SDK_LOCK:
            resend.api_key, resend.api_url, resend.default_http_client = (
                self.api_key,
                self.api_url,
                _TRANSPORT,
            )
            return fn()

    def _params(self, m: Member, unsubscribed: bool) -> dict:
        params: dict = {"audience_id": self.audience, "email": m.email, "unsubscribed": unsubscribed}
        for name in ("first_name", "last_name"):
            if m.fields.get(name) is not None:
                params[name] = str(m.fields[name])
        return params

    def _send(self, op: str, m: Member) -> None:
        """One contact, idempotently: a create of an existing contact becomes an update, an update of a
        missing one a create, and removing a missing one is done already."""

        def attempt() -> None:
            try:
                if op == "create":
                    self._sdk(lambda: resend.Contacts.create(self._params(m, False)))
                elif op == "update":
                    self._sdk(lambda: resend.Contacts.update(self._params(m, False)))
                elif op == "unsubscribe":
                    self._sdk(lambda: resend.Contacts.update(self._params(m, True)))
                else:
                    self._sdk(lambda: resend.Contacts.remove(audience_id=self.audience, email=m.email))
            except ResendError as exc:
                status = _raise_classified(exc)
                if op == "create" and status == 409:
                    raise _Switch("update") from exc
                if op == "update" and status == 404:
                    raise _Switch("create") from exc
                if op in ("remove", "unsubscribe") and status == 404:
                    return
                # Bad key, or an audience that is not there: every other contact would fail the same way.
                fatal = status in (401, 403) or (status == 404 and op == "create")
                raise Permanent(f"resend {status}: {exc.message}", fatal=fatal) from exc

        try:
            self.caller.call(attempt)
        except _Switch as switch:
            other = switch.op
            self.caller.call(lambda: self._send_plain(other, m))

    def _send_plain(self, op: str, m: Member) -> None:
        try:
            if op == "update":
                self._sdk(lambda: resend.Contacts.update(self._params(m, False)))
            else:
                self._sdk(lambda: resend.Contacts.create(self._params(m, False)))
        except ResendError as exc:
            status = _raise_classified(exc)
            raise Permanent(f"resend {status}: {exc.message}", fatal=status in (401, 403)) from exc

    def _each(self, op: str, members: list[Member]) -> Failures:
        failures: Failures = []
        for m in members:
            try:
                self._send(op, m)
            except Permanent as exc:
                if exc.fatal:
                    raise
                failures.append((m, str(exc)))
        return failures

    def add(self, members: list[Member]) -> Failures:
        return self._each("create", members)

    def update(self, members: list[Member]) -> Failures:
        return self._each("update", members)

    def remove(self, members: list[Member]) -> Failures:
        return self._each("unsubscribe" if self.unsubscribe_on_exit else "remove", members)


class _Switch(Exception):
    def __init__(self, op: str):
        super().__init__(op)
        self.op = op
