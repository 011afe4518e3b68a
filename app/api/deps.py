"""Shared FastAPI dependencies: the service container and the admin-token check.

Scope rule: every non-ingest router depends on `require_admin`, which asks for the scope by HTTP
method: GET and HEAD need a token of scope read (admin includes read), every other method scope
admin. So a read token sees everything and changes nothing, without each route naming its scope.
Write keys never pass it: they are not bearer tokens (tests/security/test_auth.py walks every route).
"""
from __future__ import annotations

from dataclasses import dataclass

from fastapi import Header, Request
from neo4j import Driver

from app.auth import Keyring
from app.identity.rules import IdentityRules
from app.ingest.messages import FieldError
from app.ingest.service import IngestService
from app.ingest.writer import GroupCommitWriter
from app.ratelimit import IngestRateLimit
from app.settings import Settings

READ_METHODS = frozenset({"GET", "HEAD"})


@dataclass
class Services:
    settings: Settings
    driver: Driver
    keyring: Keyring
    ingest: IngestService
    writer: GroupCommitWriter
    rules: IdentityRules
    rate_limit: IngestRateLimit | None = None  # None: ingest is not rate limited


def services(request: Request) -> Services:
    return request.app.state.services


def required_scope(method: str) -> str:
    return "read" if method.upper() in READ_METHODS else "admin"


def require_admin(request: Request, authorization: str | None = Header(default=None)) -> None:
    """The admin-token check of every non-ingest route; the scope follows the method (above)."""
    services(request).keyring.check_admin(authorization, required_scope(request.method))


def require_read(request: Request, authorization: str | None = Header(default=None)) -> None:
    """Read scope whatever the method: for a read that must be a POST (a body too big for a query)."""
    services(request).keyring.check_admin(authorization, "read")


def int_param(field: str, raw: str | None, default: int) -> int:
    """A query integer parsed here, so a bad one answers 400 naming the plain field."""
    if raw is None:
        return default
    try:
        return int(raw.strip())
    except ValueError:
        raise FieldError(field, f"{raw!r} is not an integer") from None
