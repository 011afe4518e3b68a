"""Destination secrets: encrypted at rest (Fernet), shown only masked."""

from __future__ import annotations

import base64
import hashlib

import orjson
from cryptography.fernet import Fernet, InvalidToken


class SecretBox:
    def __init__(self, key: str):
        # Any configured string works: Fernet wants 32 url-safe base64 bytes, so derive them.
        self._fernet = Fernet(base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()))

    def seal(self, secrets: dict[str, str]) -> str:
        return self._fernet.encrypt(orjson.dumps(secrets)).decode()

    def open(self, sealed: str | None) -> dict[str, str]:
        if not sealed:
            return {}
        try:
            return orjson.loads(self._fernet.decrypt(sealed.encode()))
        except InvalidToken:
            raise ValueError(
                "destination secrets cannot be decrypted: was destination_secret_key changed?"
            ) from None


def mask(value: str) -> str:
    """'re_live_abcdef1234' -> '****1234'; short values show nothing, so a mask never gives a secret away."""
    return "****" + value[-4:] if len(value) >= 12 else "****"


def masked(secrets: dict[str, str]) -> dict[str, str]:
    return {name: mask(value) for name, value in secrets.items()}
