"""Resend's audience contacts API: POST/GET /audiences/{id}/contacts, PATCH/DELETE/GET
/audiences/{id}/contacts/{id or email}. Errors in Resend's shape {statusCode, message, name}."""

from __future__ import annotations

import re
import uuid
from urllib.parse import unquote

from tests.destinations.fakes.server import Answer, FakeServer, Req

_PATH = re.compile(r"^/audiences/([^/]+)/contacts(?:/([^/]+))?$")


def _error(status: int, name: str, message: str) -> Answer:
    return Answer(status, {"statusCode": status, "name": name, "message": message})


class ResendFake(FakeServer):
    def __init__(self, api_key: str = "re_test_key_123456", audiences=("aud_1",)):
        super().__init__()
        self.api_key = api_key
        self.audiences = {a: {} for a in audiences}  # audience -> email -> contact
        self.reject = set()  # emails answered 422, as Resend does for an address it will not take

    def contacts(self, audience: str = "aud_1") -> dict[str, dict]:
        with self.lock:
            return {e: dict(c) for e, c in self.audiences[audience].items()}

    def handle(self, req: Req) -> Answer:
        auth = req.headers.get("authorization") or ""
        if auth in ("", "Bearer ", "Bearer None"):
            return _error(401, "missing_api_key", "Missing API key in the authorization header")
        if auth != f"Bearer {self.api_key}":
            return _error(403, "invalid_api_key", "API key is invalid")
        m = _PATH.match(req.path)
        if not m:
            return _error(404, "not_found", "The requested endpoint does not exist.")
        audience, ref = m.group(1), unquote(m.group(2)) if m.group(2) else None
        with self.lock:
            if audience not in self.audiences:
                return _error(404, "not_found", "Audience not found")
            book = self.audiences[audience]
            found = None
            if ref is not None:
                found = book.get(ref.lower()) or next((c for c in book.values() if c["id"] == ref), None)
            if req.method == "POST" and ref is None:
                body = req.json()
                email = str(body.get("email", "")).lower()
                if not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", email) or email in self.reject:
                    return _error(422, "validation_error", f"Invalid `email` field: {email}")
                if email in book:
                    return _error(409, "conflict", "Contact already exists")
                contact = {
                    "id": str(uuid.uuid4()),
                    "email": email,
                    "first_name": body.get("first_name"),
                    "last_name": body.get("last_name"),
                    "unsubscribed": bool(body.get("unsubscribed")),
                }
                book[email] = contact
                return Answer(201, {"object": "contact", "id": contact["id"]})
            if req.method == "PATCH" and ref is not None:
                if found is None:
                    return _error(404, "not_found", "Contact not found")
                body = req.json()
                for k in ("first_name", "last_name", "unsubscribed"):
                    if k in body:
                        found[k] = body[k]
                return Answer(200, {"object": "contact", "id": found["id"]})
            if req.method == "DELETE" and ref is not None:
                if found is None:
                    return _error(404, "not_found", "Contact not found")
                del book[found["email"]]
                return Answer(200, {"object": "contact", "contact": found["id"], "deleted": True})
            if req.method == "GET":
                if ref is None:
                    return Answer(200, {"object": "list", "data": list(book.values()), "has_more": False})
                return (
                    Answer(200, {"object": "contact", **found})
                    if found
                    else _error(404, "not_found", "not found")
                )
        return _error(405, "method_not_allowed", "Method not allowed")
