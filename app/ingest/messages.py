"""Segment Tracking API message models and validation at the edge.

Each error names the field path it is about (`batch[3].userId`) and why.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, Literal, Union

import orjson
from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, StrictInt, StrictStr, TypeAdapter,
                      ValidationError, ValidatorFunctionWrapHandler, WrapValidator, model_validator)
from pydantic_core import PydanticCustomError


def _one_id_error(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """One error for an id of the wrong type (not one per union member, with `.str`/`.int` in its path)."""
    try:
        return handler(value)
    except ValidationError:
        raise PydanticCustomError("id_type", "must be a string or an integer") from None


Id = Annotated[Union[StrictStr, StrictInt], Field(union_mode="left_to_right"), WrapValidator(_one_id_error)]
Name = Annotated[StrictStr, Field(max_length=1024)]


def to_utc(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def _in_utc(dt: datetime) -> datetime:
    try:
        return to_utc(dt)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00
        raise PydanticCustomError("datetime_range", "is out of range once converted to UTC") from None


UtcDatetime = Annotated[datetime, AfterValidator(_in_utc)]  # naive times are read as UTC


class SegmentMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    messageId: Annotated[StrictStr, Field(min_length=1, max_length=256)] | None = None
    userId: Id | None = None
    anonymousId: Id | None = None
    timestamp: UtcDatetime | None = None
    originalTimestamp: UtcDatetime | None = None
    sentAt: UtcDatetime | None = None
    context: dict[str, Any] | None = None
    integrations: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _needs_an_id(self):
        if _blank(self.userId) and _blank(self.anonymousId):
            raise _field_error("userId", "userId or anonymousId is required")
        return self


def _field_error(field: str, reason: str) -> PydanticCustomError:
    """A model-level check's error, carrying the field it is about (model validators have no loc)."""
    return PydanticCustomError("field_check", reason, {"field": field})


def _blank(v: object) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


class TrackMessage(SegmentMessage):
    type: Literal["track"] = "track"
    event: Annotated[StrictStr, Field(min_length=1, max_length=1024)]
    properties: dict[str, Any] | None = None


class IdentifyMessage(SegmentMessage):
    type: Literal["identify"] = "identify"
    traits: dict[str, Any] | None = None


class PageMessage(SegmentMessage):
    type: Literal["page"] = "page"
    name: Name | None = None
    category: Name | None = None
    properties: dict[str, Any] | None = None


class ScreenMessage(SegmentMessage):
    type: Literal["screen"] = "screen"
    name: Name | None = None
    category: Name | None = None
    properties: dict[str, Any] | None = None


class GroupMessage(SegmentMessage):
    type: Literal["group"] = "group"
    groupId: Id
    traits: dict[str, Any] | None = None


class AliasMessage(SegmentMessage):
    type: Literal["alias"] = "alias"
    previousId: Id
    userId: Id

    @model_validator(mode="after")
    def _previous_differs(self):
        if _blank(self.previousId):
            raise _field_error("previousId", "previousId must not be empty")
        return self


MESSAGE_MODELS: dict[str, type[SegmentMessage]] = {
    "track": TrackMessage,
    "identify": IdentifyMessage,
    "page": PageMessage,
    "screen": ScreenMessage,
    "group": GroupMessage,
    "alias": AliasMessage,
}
MESSAGE_TYPES = tuple(MESSAGE_MODELS)

AnyMessage = Annotated[
    Union[TrackMessage, IdentifyMessage, PageMessage, ScreenMessage, GroupMessage, AliasMessage],
    Field(discriminator="type"),
]


class BatchRequest(BaseModel):
    """Documents /v1/batch for OpenAPI; validation happens item by item below."""

    model_config = ConfigDict(extra="allow")
    batch: list[AnyMessage]
    context: dict[str, Any] | None = None
    integrations: dict[str, Any] | None = None
    sentAt: UtcDatetime | None = None
    writeKey: str | None = None


_adapters = {t: TypeAdapter(m) for t, m in MESSAGE_MODELS.items()}


class FieldError(Exception):
    """A request that cannot be accepted, with the field path and reason (and HTTP status)."""

    def __init__(self, field: str, reason: str, status: int = 400):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.status = status


class MessageErrors(Exception):
    """Messages refused, each with its field path and reason. `refused` counts them all (`errors`
    may list only the first ones); `accepted`, when set, is how many others of the same batch were
    stored (or found already stored) before the answer."""

    def __init__(self, errors: list[FieldError], refused: int | None = None):
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors
        self.refused = len(errors) if refused is None else refused
        self.accepted: int | None = None


def field_path(prefix: str, *loc: str | int) -> str:
    """`batch[3]` + ("context", "traits") -> `batch[3].context.traits`; no prefix -> `context.traits`."""
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = f"{out}.{part}" if out else str(part)
    return out or "body"


def _reason(err: dict) -> str:
    msg = err["msg"]
    return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def json_reason(exc: orjson.JSONDecodeError) -> str:
    """orjson's message, except for NaN and Infinity, which it calls "unexpected character" or "no
    digit after sign": Python's json.dumps writes them, so a client needs to be told they are not JSON."""
    literal = next((w for w in ("NaN", "Infinity") if exc.doc.startswith(w, exc.pos)), None)
    if literal is None:
        return str(exc)
    return (f"{literal} is not a JSON number (JSON has no NaN or Infinity; send null or a string): "
            f"line {exc.lineno} column {exc.colno} (char {exc.pos})")


def validate_message(raw: Any, prefix: str, forced_type: str | None, max_bytes: int) -> SegmentMessage:
    """Validate one message; raise FieldError(s) naming the path."""
    if not isinstance(raw, dict):
        raise MessageErrors([FieldError(prefix or "body", "must be a JSON object")])
    if forced_type is not None:
        raw = {**raw, "type": forced_type} if raw.get("type") != forced_type else raw
    msg_type = raw.get("type")
    if not isinstance(msg_type, str) or msg_type not in _adapters:
        raise MessageErrors([FieldError(field_path(prefix, "type"),
                                        f"must be one of {', '.join(MESSAGE_TYPES)}")])
    encoded = orjson.dumps(raw)
    size = len(encoded)
    if size > max_bytes:
        raise MessageErrors([FieldError(prefix or "body", f"message is {size} bytes; the limit is {max_bytes}", 413)])
    try:
        return _adapters[msg_type].validate_python(raw)
    except ValidationError as exc:
        errors = []
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"]) or ((err.get("ctx") or {}).get("field"),)
            errors.append(FieldError(field_path(prefix, *(p for p in loc if p is not None)), _reason(err)))
        raise MessageErrors(errors) from None
