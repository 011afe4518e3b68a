"""Write keys (ingest only) and admin bearer tokens (reads), compared in constant time."""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from app.settings import Settings


class Unauthorized(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


class Keyring:
    def __init__(self, settings: Settings):
        # Keep digests only; compare digests with hmac.compare_digest.
        self._write_keys = [(_digest(k), source) for k, source in settings.write_keys.items()]
        self._admin = [bytes.fromhex(t[7:]) if t.startswith("sha256:") else _digest(t) for t in settings.admin_tokens]

    def source_for(self, write_key: str | None) -> str:
        if not write_key:
            raise Unauthorized("a write key is required (HTTP Basic username, or writeKey in the body)")
        d = _digest(write_key)
        found = None
        for known, source in self._write_keys:
            if hmac.compare_digest(d, known):
                found = source
        if found is None:
            raise Unauthorized("unknown write key")
        return found

    def check_admin(self, authorization: str | None) -> None:
        if not authorization or not authorization.startswith("Bearer "):
            raise Unauthorized("an admin token is required (Authorization: Bearer <token>)")
        d = _digest(authorization[7:].strip())
        ok = False
        for known in self._admin:
            ok |= hmac.compare_digest(d, known)
        if not ok:
            raise Unauthorized("unknown admin token")


def basic_username(authorization: str | None) -> str | None:
    """The username of an HTTP Basic header (Segment sends the write key there)."""
    if not authorization or not authorization[:6].lower() == "basic ":
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.split(":", 1)[0]
