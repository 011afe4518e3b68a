"""Shared FastAPI dependencies: the service container and the admin check."""
from __future__ import annotations

from dataclasses import dataclass

from fastapi import Header, Request
from neo4j import Driver

from app.auth import Keyring
from app.identity.rules import IdentityRules
from app.ingest.service import IngestService
from app.ingest.writer import GroupCommitWriter
from app.settings import Settings


@dataclass
class Services:
    settings: Settings
    driver: Driver
    keyring: Keyring
    ingest: IngestService
    writer: GroupCommitWriter
    rules: IdentityRules


def services(request: Request) -> Services:
    return request.app.state.services


def require_admin(request: Request, authorization: str | None = Header(default=None)) -> None:
    services(request).keyring.check_admin(authorization)
