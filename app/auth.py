"""Write keys (ingest only) and scoped admin bearer tokens, kept as digests, compared in constant time.

Admin token entries (CDP_ADMIN_TOKENS) are "[scope:]token" or "[scope:]sha256:<hex>", scope "read"
or "admin" (no scope: admin). Plain tokens are hashed when the keyring is built and the clear value
is dropped; "sha256:" entries let a deployment never hand the service the token at all
(`printf %s "$TOKEN" | sha256sum`). read may GET; admin may do everything.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from app.ingest.messages import FieldError
from app.settings import Settings

SCOPES = ("read", "admin")  # each scope includes the ones before it


class Unauthorized(Exception):
    """401. `scheme` is the challenge: Basic for write keys (the SDKs' scheme), Bearer for admin
    tokens, so a browser calling the admin API never pops up a Basic login prompt."""

    def __init__(self, reason: str, scheme: str = "Basic"):
        super().__init__(reason)
        self.reason = reason
        self.scheme = scheme


class Forbidden(FieldError):
    """A known token without the scope the call needs: 403 (a FieldError, so errors.py answers it)."""

    def __init__(self, reason: str):
        super().__init__("Authorization", reason, 403)


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


def parse_admin_token(entry: str) -> tuple[str, bytes]:
    """'read:sha256:ab…' -> ('read', digest). Raises ValueError on a malformed digest, so a typo in
    the configuration fails at start-up instead of silently locking everyone out."""
    scope, rest = "admin", entry
    head, sep, tail = entry.partition(":")
    if sep and head in SCOPES:
        scope, rest = head, tail
    if rest.startswith("sha256:"):
        digest = bytes.fromhex(rest[7:])
        if len(digest) != 32:
            raise ValueError("an admin token digest must be 64 hex digits (sha256)")
        return scope, digest
    if not rest:
        raise ValueError("empty admin token")
    return scope, _digest(rest)


class Keyring:
    def __init__(self, settings: Settings):
        # Digests only; the clear values are not kept.
        self._write_keys = [(_digest(k), source) for k, source in settings.write_keys.items()]
        self._admin = [parse_admin_token(t) for t in settings.admin_tokens]

    def source_for(self, write_key: str | None) -> str:
        if not write_key:
            raise Unauthorized("a write key is required (HTTP Basic username, or writeKey in the body)")
        d = _digest(write_key)
        found = None
        for known, source in self._write_keys:  # no early exit: the time says nothing about which key
            if hmac.compare_digest(d, known):
                found = source
        if found is None:
            raise Unauthorized("unknown write key")
        return found

    def check_admin(self, authorization: str | None, scope: str = "admin") -> str:
        """The token's scope; 401 without a known token, 403 when its scope is below `scope`."""
        if not authorization or not authorization.startswith("Bearer "):
            raise Unauthorized("an admin token is required (Authorization: Bearer <token>)", "Bearer")
        d = _digest(authorization[7:].strip())
        granted = -1
        for token_scope, known in self._admin:  # every digest is compared, match or not
            if hmac.compare_digest(d, known):
                granted = max(granted, SCOPES.index(token_scope))
        if granted < 0:
            raise Unauthorized("unknown admin token", "Bearer")
        if granted < SCOPES.index(scope):
            raise Forbidden(f"this token has {SCOPES[granted]} scope; this call needs {scope}")
        return SCOPES[granted]


def basic_username(authorization: str | None) -> str | None:
    """The username of an HTTP Basic header (Segment sends the write key there)."""
    if not authorization or authorization[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.split(":", 1)[0]
