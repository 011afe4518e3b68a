"""Turn a request body into prepared messages: decoding, limits, validation, write key."""
from __future__ import annotations

import zlib
from datetime import datetime, timezone
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError

from app.auth import Keyring, basic_username
from app.identity.rules import IdentityRules
from app.ingest.messages import (
    FieldError,
    MessageErrors,
    UtcDatetime,
    field_path,
    json_reason,
    validate_message,
)
from app.ingest.prepare import STORED_FIELDS, PreparedMessage, prepare
from app.settings import Settings

_datetime = TypeAdapter(UtcDatetime)
MAX_REPORTED_ERRORS = 50  # an answer names at most this many; it counts every refused message


def decode_body(body: bytes, content_encoding: str | None, limit: int) -> Any:
    """Bytes -> JSON value; gzip bodies (as the SDKs send them) are inflated within the limit."""
    encoding = (content_encoding or "").strip().lower()
    if encoding == "gzip":
        inflater = zlib.decompressobj(wbits=31)
        try:
            body = inflater.decompress(body, limit + 1)
        except zlib.error:
            raise FieldError("body", "Content-Encoding is gzip but the body is not valid gzip") from None
        if len(body) <= limit and not inflater.eof:
            raise FieldError("body", "Content-Encoding is gzip but the gzip stream is truncated")
    elif encoding not in ("", "identity"):
        raise FieldError("Content-Encoding", f"unsupported encoding {encoding!r}; use gzip or none", 415)
    if len(body) > limit:
        raise FieldError("body", f"request body exceeds {limit} bytes", 413)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise FieldError("body", f"invalid JSON: {json_reason(exc)}") from None


class IngestService:
    def __init__(self, settings: Settings, keyring: Keyring, rules: IdentityRules):
        self.settings = settings
        self.keyring = keyring
        self.rules = rules

    def header_source(self, authorization: str | None) -> str | None:
        """The source of the write key in the Basic header (401 if unknown); None when there is none,
        so the body's writeKey decides. Checked before the body is read."""
        key = basic_username(authorization)
        return self.keyring.source_for(key) if key else None

    def source(self, authorization: str | None, body: Any) -> str:
        key = basic_username(authorization)
        if not key and isinstance(body, dict) and isinstance(body.get("writeKey"), str):
            key = body["writeKey"]
        return self.keyring.source_for(key)

    def single(self, body: Any, msg_type: str | None, source: str) -> list[PreparedMessage]:
        """One message (/v1/track …, or /api/track with the type in the body)."""
        now = datetime.now(timezone.utc)
        msg = validate_message(body, "", msg_type, self.settings.max_message_bytes)
        return [prepare(msg, body, "", source=source, received_at=now, batch_sent_at=None,
                        batch_context=None, batch_integrations=None, rules=self.rules)]

    def batch(self, body: Any, source: str, replay: bool = False) -> list[PreparedMessage]:
        """Every message of the batch, or MessageErrors naming the invalid ones. `replay`: stored
        records sent again, as `cdp import` sends a file's lines (see `prepare`)."""
        valid, refused = self.batch_parts(body, source, replay)
        if refused is not None:
            raise refused
        return valid

    def batch_parts(self, body: Any, source: str, replay: bool = False) -> tuple[list[PreparedMessage],
                                                                                   MessageErrors | None]:
        """The batch's valid messages, and MessageErrors naming its invalid ones (None if there are
        none). A body that is not a batch at all (no array, too many messages, a bad batch-level
        field) raises instead."""
        if not isinstance(body, dict):
            raise FieldError("body", "must be a JSON object with a batch array")
        items = body.get("batch")
        if not isinstance(items, list):
            raise FieldError("batch", "required: an array of messages")
        if not items:
            raise FieldError("batch", "must hold at least one message")
        if len(items) > self.settings.max_batch_messages:
            raise FieldError("batch", f"{len(items)} messages; the limit is {self.settings.max_batch_messages}")
        ctx, integ = body.get("context"), body.get("integrations")
        for name, value in (("context", ctx), ("integrations", integ)):
            if value is not None and not isinstance(value, dict):
                raise FieldError(name, "must be an object")
        sent_at = None
        if body.get("sentAt") is not None:
            try:
                sent_at = _datetime.validate_python(body["sentAt"])
            except ValidationError:
                raise FieldError("sentAt", "must be an ISO-8601 date-time") from None
        now = datetime.now(timezone.utc)
        out: list[PreparedMessage] = []
        errors: list[FieldError] = []
        refused = 0
        for n, raw in enumerate(items):
            path = f"batch[{n}]"
            try:
                if replay and isinstance(raw, dict) and STORED_FIELDS & raw.keys() - {"source", "receivedAt"}:
                    # An exported event is its message plus what the store added (its times, the
                    # batch's context and integrations merged in): held to the batch limit, the
                    # most a message accepted once can have become, so it is accepted again. Any
                    # other line is a message, held to the message limit as the API holds it.
                    message = {k: v for k, v in raw.items() if k not in STORED_FIELDS}
                    msg = validate_message(message, path, None, self.settings.max_batch_bytes)
                else:
                    msg = validate_message(raw, path, None, self.settings.max_message_bytes)
                received_at, msg_source = stored_arrival(raw, path, now, source) if replay else (now, source)
                out.append(prepare(msg, raw, path, source=msg_source, received_at=received_at,
                                   batch_sent_at=sent_at, batch_context=ctx, batch_integrations=integ,
                                   rules=self.rules, replay=replay))
            except MessageErrors as exc:
                refused += 1
                errors.extend(exc.errors[:MAX_REPORTED_ERRORS - len(errors)])
        if not errors:
            return out, None
        # 413 only matters for a lone oversize item; any other problem is a 400.
        for e in errors:
            if e.status == 413:
                e.status = 400
        return out, MessageErrors(errors, refused)


def stored_arrival(raw: dict, path: str, now: datetime, source: str) -> tuple[datetime, str]:
    """A replayed record's own receivedAt and source, where it carries them (an event export's lines
    do), else `now` and the import's source: a stored event comes back with the time it was stored
    at, so clock-skew correction gives it the same timestamp. A receivedAt after now is now."""
    received_at = now
    if raw.get("receivedAt") is not None:
        try:
            received_at = min(_datetime.validate_python(raw["receivedAt"]), now)
        except ValidationError:
            raise MessageErrors([FieldError(field_path(path, "receivedAt"), "must be an ISO-8601 date-time")]) from None
    own = raw.get("source")
    if own is not None and (not isinstance(own, str) or not own.strip()):
        raise MessageErrors([FieldError(field_path(path, "source"), "must be a non-empty string")])
    return received_at, own or source
