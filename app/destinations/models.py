"""What the API accepts for destinations and syncs, and the rules each destination type adds."""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlparse

from celery.schedules import crontab
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from app.destinations.mapping import validate_mapping
from app.ingest.messages import FieldError

DESTINATION_TYPES = ("resend", "hubspot", "facebook", "webhook")
DestinationType = Literal["resend", "hubspot", "facebook", "webhook"]


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class RateLimit(_Camel):
    per_second: float = Field(gt=0, le=100_000)
    burst: int | None = Field(default=None, ge=1, le=100_000)


class DestinationIn(_Camel):
    name: str = Field(min_length=1, max_length=200)
    type: DestinationType
    config: dict[str, str | int | float | bool | dict[str, str]] = Field(default_factory=dict)
    secrets: dict[str, str] = Field(default_factory=dict)
    rate_limit: RateLimit | None = None


class DestinationPatch(_Camel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    config: dict[str, str | int | float | bool | dict[str, str]] | None = None
    # Only the secrets named are replaced; the others are kept.
    secrets: dict[str, str] | None = None
    rate_limit: RateLimit | None = None


# Per type: required config keys, optional config keys, required secrets, optional secrets.
_SHAPES: dict[str, tuple[set[str], set[str], set[str], set[str]]] = {
    "resend": ({"audienceId"}, set(), {"apiKey"}, set()),
    "hubspot": (set(), {"membershipProperty", "gdprDelete"}, {"accessToken"}, set()),
    "facebook": ({"audienceId"}, {"adAccountId"}, {"accessToken"}, {"appSecret"}),
    "webhook": ({"url"}, {"headers"}, {"signingSecret"}, set()),
}
_HUBSPOT_PROPERTY = re.compile(r"^[a-z][a-z0-9_]{0,99}$")


def check_destination(dest_type: str, config: dict, secrets: dict) -> None:
    """Type rules the generic model cannot state; FieldError names the offending field."""
    required, optional, need_secrets, opt_secrets = _SHAPES[dest_type]
    for key in sorted(required):
        if config.get(key) in (None, ""):
            raise FieldError(f"config.{key}", f"required for a {dest_type} destination")
    for key in sorted(config):
        if key not in required | optional:
            raise FieldError(
                f"config.{key}", f"unknown for {dest_type}; known: {', '.join(sorted(required | optional))}"
            )
    for key in sorted(need_secrets):
        if not secrets.get(key):
            raise FieldError(f"secrets.{key}", f"required for a {dest_type} destination")
    for key in sorted(secrets):
        if key not in need_secrets | opt_secrets:
            raise FieldError(
                f"secrets.{key}",
                f"unknown for {dest_type}; known: {', '.join(sorted(need_secrets | opt_secrets))}",
            )
    for key in ("audienceId", "adAccountId", "membershipProperty"):
        if key in config and not isinstance(config[key], str):
            raise FieldError(f"config.{key}", "must be a string")
    if "gdprDelete" in config and not isinstance(config["gdprDelete"], bool):
        raise FieldError("config.gdprDelete", "must be true or false")
    if (
        dest_type == "hubspot"
        and "membershipProperty" in config
        and not _HUBSPOT_PROPERTY.match(config["membershipProperty"])
    ):
        raise FieldError(
            "config.membershipProperty", "must be a HubSpot internal property name (a-z, 0-9, _)"
        )
    if dest_type == "webhook":
        url = config["url"]
        parsed = urlparse(url) if isinstance(url, str) else None
        if parsed is None or parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise FieldError("config.url", "must be an absolute http(s) URL")
        headers = config.get("headers", {})
        if not isinstance(headers, dict):
            raise FieldError("config.headers", "must be an object of header names to values")
        check_webhook_headers(headers)


# RFC 9110 field names are tokens; values are visible characters, spaces and tabs (no CR or LF,
# which would split the request). Headers the client sets itself, or that frame the body, are not
# the receiver's to choose.
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")
_HEADER_VALUE = re.compile(r"^[\t\x20-\x7e]{0,2000}$")  # ASCII: the HTTP client sends nothing else
_RESERVED_HEADERS = {"content-type", "content-length", "transfer-encoding", "host", "connection",
                     "x-cdp-batch-id", "x-cdp-signature"}
MAX_WEBHOOK_HEADERS = 20


def check_webhook_headers(headers: dict) -> None:
    """Checked when the destination is saved: a bad header otherwise failed every run's request."""
    if len(headers) > MAX_WEBHOOK_HEADERS:
        raise FieldError("config.headers", f"at most {MAX_WEBHOOK_HEADERS} headers")
    for name, value in headers.items():
        if not _HEADER_NAME.match(name):
            raise FieldError("config.headers", f"{name!r} is not a valid header name (letters, digits and "
                                               "!#$%&'*+.^_`|~- only)")
        if name.lower() in _RESERVED_HEADERS:
            raise FieldError(f"config.headers.{name}", "set by the sync itself; it cannot be configured")
        if not isinstance(value, str) or not _HEADER_VALUE.match(value):
            raise FieldError(f"config.headers.{name}", "must be a string of visible ASCII characters, "
                                                       "without line breaks, at most 2,000")


class Schedule(_Camel):
    """Either a five-field cron expression (UTC) or a fixed interval."""

    cron: str | None = Field(default=None, max_length=100)
    interval_seconds: int | None = Field(default=None, ge=10, le=31 * 86400)

    @model_validator(mode="after")
    def _one(self) -> Schedule:
        if (self.cron is None) == (self.interval_seconds is None):
            raise ValueError("give exactly one of cron or intervalSeconds")
        return self

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None:
            parse_cron(value)
        return value


def parse_cron(expr: str) -> crontab:
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError("cron needs five fields: minute hour day-of-month month day-of-week")
    minute, hour, dom, month, dow = fields
    try:
        return crontab(minute=minute, hour=hour, day_of_month=dom, month_of_year=month, day_of_week=dow)
    except Exception as exc:  # noqa: BLE001 - celery raises several types for a bad field
        raise ValueError(f"invalid cron expression: {exc}") from None


class SyncOptions(_Camel):
    # What an exit does where the vendor has both: delete the contact, or keep it unsubscribed.
    exit_action: Literal["remove", "unsubscribe"] = "remove"
    # Send trait changes of current members between runs (upsert-capable destinations).
    push_trait_changes: bool = True


class SyncIn(_Camel):
    segment_id: str = Field(min_length=1, max_length=200)
    destination_id: str = Field(min_length=1, max_length=200)
    schedule: Schedule | None = None  # None: runs only when asked
    mapping: dict[str, str | list[str]] | None = None
    options: SyncOptions = Field(default_factory=SyncOptions)
    enabled: bool = True


class SyncPatch(_Camel):
    schedule: Schedule | None = None
    clear_schedule: bool = False
    mapping: dict[str, str | list[str]] | None = None
    options: SyncOptions | None = None
    enabled: bool | None = None


def check_mapping(dest_type: str, mapping: dict | None) -> dict[str, list[str]]:
    """The mapping in its stored form (every value a list of sources), with the type's defaults."""
    try:
        return validate_mapping(dest_type, mapping)
    except ValueError as exc:
        field, _, reason = str(exc).partition(": ")
        raise FieldError(f"mapping.{field}" if field else "mapping", reason or str(exc)) from None
