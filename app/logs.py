"""Structured JSON log lines, with the request id of the request that produced them, and no
personal data: identifiers are hashed before a line is written (redact below)."""
from __future__ import annotations

import contextvars
import hashlib
import logging
import re
import sys
import time

import orjson

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

# `fields` entries whose values identify a person (or are a secret, like a write key).
PII_FIELDS = frozenset({"userId", "anonymousId", "previousId", "email", "phone", "key", "identifier",
                        "identifiers", "writeKey", "user_id", "anonymous_id", "ref", "traits"})
# Free text (messages, exception text: a Neo4j error can quote a property) is scrubbed of what looks
# like an identifier: an identifier key "type:value" or an email address.
_IDENTIFIER_KEY = re.compile(r"\b(?:user_id|anonymous_id|email|phone):[^\s'\"`,;)}\]]+")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Credentials in URLs an exception quotes (Facebook's SDK puts its access token in the query string).
_SECRET_PARAM = re.compile(r"\b(access_token|appsecret_proof|api_key|apikey|token|secret|signature|password|key)"
                           r"=[^&\s'\"`)]+", re.IGNORECASE)


def pseudonym(value: object) -> str:
    """Stable (the same person gives the same hash, so lines can be correlated) but not reversible
    by reading the log. Unsalted: it hides, it does not anonymise against a dictionary attack."""
    return "sha256:" + hashlib.sha256(str(value).encode()).hexdigest()[:12]


def _redact_value(value: object) -> object:
    if value is None:
        return None
    if isinstance(value, (list, tuple, set)):
        return [pseudonym(v) for v in value]
    if isinstance(value, dict):
        return {k: pseudonym(v) for k, v in value.items()}
    return pseudonym(value)


def redact_fields(fields: dict) -> dict:
    return {k: _redact_value(v) if k in PII_FIELDS else v for k, v in fields.items()}


_AUTH_HEADER = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)


def scrub_secrets(text: str) -> str:
    text = _AUTH_HEADER.sub(lambda m: m.group(1) + " [redacted]", text)
    return _SECRET_PARAM.sub(lambda m: m.group(1) + "=[redacted]", text)


def scrub(text: str) -> str:
    text = scrub_secrets(text)
    text = _IDENTIFIER_KEY.sub(lambda m: pseudonym(m.group(0)), text)
    return _EMAIL.sub(lambda m: pseudonym(m.group(0)), text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": scrub(record.getMessage()),
        }
        rid = request_id.get()
        if rid:
            line["request_id"] = rid
        fields = getattr(record, "fields", None)
        if fields:
            line.update(redact_fields(fields))
        if record.exc_info:
            line["exc"] = scrub(self.formatException(record.exc_info))
        return orjson.dumps(line, default=str).decode()


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("neo4j").setLevel(logging.WARNING)  # its DEBUG lines carry query parameters
    logging.getLogger("uvicorn.access").disabled = True  # raw paths can hold identifiers; see request_context
    logging.captureWarnings(True)  # a library's warning is a log line too (JSON), not raw text on stderr
