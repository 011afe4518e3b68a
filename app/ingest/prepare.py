"""From validated Segment messages to what the store writes: event properties, identifiers,
corrected timestamps, a messageId for dedup."""
from __future__ import annotations

import functools
import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from app.db import INT64_MAX, INT64_MIN
from app.identity.rules import ANONYMOUS_ID, USER_ID, Identifier, IdentityRules, extract_identifiers
from app.ingest import timestamps
from app.ingest.messages import FieldError, MessageErrors, SegmentMessage, field_path

_TYPED_FIELDS = {"messageId", "userId", "anonymousId", "timestamp", "originalTimestamp", "sentAt",
                 "context", "integrations", "type", "properties", "traits", "writeKey"}
_SCALAR_FIELDS = ("event", "name", "category", "groupId", "previousId")
# What a stored event carries besides its message (an event export's lines): a replay reads
# receivedAt and source (app.ingest.service.stored_arrival) and derives the rest again.
STORED_FIELDS = {"receivedAt", "source", "ts", "identifier", "profileId"}


@dataclass(slots=True)
class PreparedMessage:
    message_id: str
    type: str
    source: str
    identifiers: list[Identifier]  # strongest first
    previous_id: str | None  # alias only: typed by the resolver against the graph
    ts: int
    event: dict[str, Any]  # node properties for (:Event)
    traits: dict[str, Any]  # flattened person traits this message sets (an identify's traits)


MAX_TRAIT_DEPTH = 4
MAX_EVENT_PROPERTIES = 50
MAX_TRAIT_KEY = 200


def _past_int64(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and not INT64_MIN <= value <= INT64_MAX


def flatten_traits(traits: dict, prefix: str = "", depth: int = 0) -> dict[str, Any]:
    """{'address': {'city': 'Oslo'}} -> {'address.city': 'Oslo'}: Neo4j properties hold scalars and
    homogeneous lists only, so deeper or mixed values are kept as JSON strings. Neo4j's integers
    are 64-bit signed: a larger one (JSON allows it; an unsigned 64-bit id, say) is kept as its
    decimal text, here only: the event's JSON keeps the number."""
    out: dict[str, Any] = {}
    for key, value in traits.items():
        name = f"{prefix}{key}"
        if len(name) > MAX_TRAIT_KEY or "\x00" in name:
            continue  # Neo4j property names cannot hold NUL; the value stays in the event's JSON
        if isinstance(value, dict) and depth < MAX_TRAIT_DEPTH:
            out.update(flatten_traits(value, name + ".", depth + 1))
        elif _past_int64(value):
            out[name] = str(value)
        elif value is None or isinstance(value, (str, bool, int, float)):
            out[name] = value
        elif isinstance(value, list) and value and len({type(v) for v in value}) == 1 and \
                isinstance(value[0], (str, bool, int, float)) and not any(map(_past_int64, value)):
            out[name] = value
        else:
            out[name] = orjson.dumps(value).decode()
    return out


class _SharedIso:
    """ISO text of a datetime every message of a request shares (its receivedAt, a batch's sentAt),
    formatted once per request rather than once per message. Matched by identity and held, so a
    later request's datetime never gets an earlier one's text."""

    __slots__ = ("_last",)

    def __init__(self):
        self._last: tuple[datetime | None, str | None] = (None, None)

    def __call__(self, dt: datetime | None) -> str | None:
        if dt is None:
            return None
        last = self._last  # one read: another thread may swap the pair, never half of it
        if last[0] is dt:
            return last[1]
        text = timestamps.iso(dt)
        self._last = (dt, text)
        return text


_received_at_iso = _SharedIso()
_sent_at_iso = _SharedIso()


@functools.cache
def _declared(model: type[SegmentMessage]) -> frozenset[str]:
    """The fields a message model declares (read per message; pydantic builds the mapping anew)."""
    return frozenset(model.model_fields)


def _field(msg: SegmentMessage, name: str, declared: frozenset[str]) -> Any:
    """A declared field's value, else an undeclared (extra) one's, else None: what
    `getattr(msg, name, None)` gives, without the AttributeError pydantic raises inside for a
    name its model does not declare."""
    if name in declared:
        return getattr(msg, name)
    extra = msg.__pydantic_extra__
    return extra.get(name) if extra else None


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _generated_message_id(raw: dict, msg_type: str, source: str, timed: bool) -> str:
    """The id of a message sent without one. A message that says when it happened (`timed`) gets
    its content's, so its retries (from the same source) dedup, whether the type came from the path
    or the body. One that does not happened when it arrived, so each arrival is an event of its own
    and gets a fresh id, as Segment gives it: two identical clicks sent a second apart are two."""
    if not timed:
        return "gen-" + uuid.uuid4().hex
    body = {k: v for k, v in raw.items() if k not in ("sentAt", "writeKey")} | {"type": msg_type}
    digest = hashlib.sha256(orjson.dumps([source, body], option=orjson.OPT_SORT_KEYS)).hexdigest()
    return "gen-" + digest[:32]


def prepare(
    msg: SegmentMessage,
    raw: dict,
    path: str,
    *,
    source: str,
    received_at: datetime,
    batch_sent_at: datetime | None,
    batch_context: dict | None,
    batch_integrations: dict | None,
    rules: IdentityRules,
    replay: bool = False,
) -> PreparedMessage:
    """`replay`: the messages are stored records sent again (`cdp import`), not arrivals, so a message
    without messageId or timestamp gets an id from its content as a timed one does, and a rerun
    skips it."""
    context = {**(batch_context or {}), **(msg.context or {})} if batch_context else msg.context
    integrations = ({**(batch_integrations or {}), **(msg.integrations or {})}
                    if batch_integrations else msg.integrations)
    original = msg.originalTimestamp or msg.timestamp
    sent_at = msg.sentAt or batch_sent_at
    try:
        ts = timestamps.correct(original, sent_at, received_at)
    except OverflowError:
        field = "originalTimestamp" if msg.originalTimestamp else "timestamp"
        raise MessageErrors([FieldError(field_path(path, field),
                                        "too far from sentAt to correct for clock skew")]) from None

    declared = _declared(type(msg))
    traits = _field(msg, "traits", declared)
    properties = _field(msg, "properties", declared)
    as_dict = {"type": msg.type, "userId": msg.userId, "anonymousId": msg.anonymousId, "context": context,
               "traits": traits, "properties": properties}
    identifiers, dropped = extract_identifiers(rules, as_dict)
    previous_id = None
    if msg.type == "alias":
        previous_id = rules.normalise(ANONYMOUS_ID, msg.previousId)
        if previous_id is None:
            raise MessageErrors([FieldError(field_path(path, "previousId"), "blocked or empty value")])
    if not any(i.type in (USER_ID, ANONYMOUS_ID) for i in identifiers):
        fields = [d.field for d in dropped if d.field in ("userId", "anonymousId")] or ["userId"]
        raise MessageErrors([FieldError(field_path(path, f), "userId/anonymousId value is blocked or empty")
                             for f in fields])

    message_id = msg.messageId or _generated_message_id(raw, msg.type, source, original is not None or replay)
    timestamp = timestamps.iso(ts.timestamp)
    event: dict[str, Any] = {
        "messageId": message_id,
        "type": msg.type,
        "source": source,
        "userId": None if msg.userId is None else str(msg.userId),
        "anonymousId": None if msg.anonymousId is None else str(msg.anonymousId),
        "ts": timestamps.epoch_ms(ts.timestamp),
        "timestamp": timestamp,
        "originalTimestamp": (timestamp if ts.original_timestamp is ts.timestamp
                              else timestamps.iso(ts.original_timestamp)),
        "sentAt": _sent_at_iso(ts.sent_at),
        "receivedAt": _received_at_iso(ts.received_at),
        "properties": _json(properties),
        "traits": _json(traits),
        "context": _json(context),
        "integrations": _json(integrations),
    }
    for name in _SCALAR_FIELDS:
        value = getattr(msg, name, None) if name in declared else None  # not an undeclared extra field
        if value is not None:
            event[name] = str(value)
    # Event properties also as `p.<name>` node properties, so behaviour filters ("performed
    # Order Completed with total > 100") are plain property predicates. (An identify, group or
    # alias does not declare properties: an undeclared one may be any JSON value.)
    if isinstance(properties, dict) and properties:
        for n, (name, value) in enumerate(flatten_traits(properties).items()):
            if n >= MAX_EVENT_PROPERTIES:
                break
            event[f"p.{name}"] = value
    extra = {k: v for k, v in (msg.model_extra or {}).items()
             if k not in _TYPED_FIELDS and not (replay and k in STORED_FIELDS)}
    if extra:
        event["extra"] = _json(extra)
    # Profile traits come from identify calls alone, as in Segment: other calls' context.traits are
    # the SDK's cached copy of earlier identifies, and a stale one would beat a newer identify.
    person_traits = flatten_traits(traits) if msg.type == "identify" and traits else {}
    return PreparedMessage(
        message_id=message_id,
        type=msg.type,
        source=source,
        identifiers=rules.ordered(identifiers),
        previous_id=previous_id,
        ts=event["ts"],
        event=event,
        traits=person_traits,
    )
