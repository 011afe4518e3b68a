"""Facebook Custom Audiences through the official facebook-business SDK: email and phone normalised
the way Meta documents, SHA-256 hashed here (nothing leaves in clear), up to 10,000 rows per request.
The SDK is pointed at another Graph host through its session's GRAPH attribute."""

from __future__ import annotations

import hashlib
import re

import requests
from facebook_business.adobjects.customaudience import CustomAudience
from facebook_business.api import FacebookAdsApi, FacebookSession
from facebook_business.exceptions import FacebookRequestError

from app.destinations.clients import Caller, DestinationClient, Failures
from app.destinations.mapping import Member
from app.destinations.retry import Permanent, Retryable, network_error, retry_after_seconds
from app.settings import Settings

BATCH_LIMIT = 10_000  # Meta's documented maximum rows per users request
SCHEMA = ["EMAIL", "PHONE"]
# Graph error codes that mean "later": throttling (4, 17, 32, 613, 80003) and transient (1, 2).
_THROTTLED = {4, 17, 32, 613, 80003}
_TRANSIENT = {1, 2} | _THROTTLED


def normalise_email(value) -> str | None:
    v = str(value).strip().lower() if value is not None else ""
    return v if "@" in v else None


def normalise_phone(value) -> str | None:
    """Digits only with the country code, no leading zeros or '+' (Meta's phone rule)."""
    digits = re.sub(r"\D", "", str(value)) if value is not None else ""
    digits = digits.lstrip("0")
    return digits if len(digits) >= 7 else None


def sha256(value: str | None) -> str:
    return hashlib.sha256(value.encode()).hexdigest() if value else ""


def hashed_row(member: Member) -> list[str]:
    return [sha256(normalise_email(member.email)), sha256(normalise_phone(member.phone))]


class FacebookClient(DestinationClient):
    max_batch = BATCH_LIMIT

    def __init__(self, config: dict, secrets: dict, settings: Settings, caller: Caller, context: dict):
        session = FacebookSession(
            access_token=secrets["accessToken"], app_secret=secrets.get("appSecret"), timeout=60
        )
        session.GRAPH = settings.facebook_graph_url.rstrip("/")
        self.api = FacebookAdsApi(session, api_version=settings.facebook_api_version)
        self.audience = CustomAudience(config["audienceId"], api=self.api)
        self.caller = caller

    def addressable(self, member: Member) -> bool:
        return bool(normalise_email(member.email) or normalise_phone(member.phone))

    def _send(self, method: str, members: list[Member]) -> Failures:
        rows = [hashed_row(m) for m in members]
        by_hash = {h: m for m, row in zip(members, rows) for h in row if h}

        def attempt():
            fn = self.audience.add_users if method == "add" else self.audience.remove_users
            try:
                return fn(SCHEMA, rows, is_raw=True, pre_hashed=True).json()
            except requests.RequestException as exc:  # DNS, refused, reset, timeout: its URL holds the token
                raise network_error("facebook", exc) from exc
            except FacebookRequestError as exc:
                status, code = exc.http_status(), exc.api_error_code()
                headers = {k.lower(): v for k, v in (exc.http_headers() or {}).items()}
                if status == 429 or code in _THROTTLED:
                    raise Retryable(
                        f"facebook {status}/{code}: {exc.api_error_message()}",
                        retry_after_seconds(headers.get("retry-after")),
                        rate_limited=True,
                    ) from exc
                if status >= 500 or code in _TRANSIENT or exc.api_transient_error():
                    raise Retryable(f"facebook {status}/{code}: {exc.api_error_message()}") from exc
                # 190: the access token is invalid or expired; 401/403: no access to this audience.
                raise Permanent(
                    f"facebook {status}/{code}: {exc.api_error_message()}",
                    fatal=code == 190 or status in (401, 403),
                ) from exc

        answer = self.caller.call(attempt) or {}
        # Meta accepts the batch and reports rows it could not use; map the samples back to members.
        failures: Failures = []
        seen: set[str] = set()
        samples = answer.get("invalid_entry_samples") or {}
        for value, reason in samples.items() if isinstance(samples, dict) else []:
            m = by_hash.get(value)
            if m is not None and m.profile_id not in seen:
                seen.add(m.profile_id)
                failures.append((m, f"facebook invalid entry: {reason}"))
        return failures

    def add(self, members: list[Member]) -> Failures:
        return self._send("add", members)

    def remove(self, members: list[Member]) -> Failures:
        return self._send("remove", members)
