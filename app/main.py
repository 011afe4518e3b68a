"""App factory: routers, lifespan (driver, schema, group-commit writer), error handlers."""
from __future__ import annotations

import logging
import time
import uuid
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import ORJSONResponse

from app import db, errors, logs, metrics
from app.api import events, health, ingest, profile_admin, profile_graph, profiles
from app.api.deps import Services
from app.auth import Keyring
from app.identity.rules import IdentityRules
from app.identity.store import IdentityStore
from app.ingest.service import IngestService
from app.ingest.writer import GroupCommitWriter
from app.settings import Settings, get_settings

log = logging.getLogger("cdp")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        logs.configure(settings.log_level)
        driver = db.connect(settings)
        db.apply_schema(driver, settings.neo4j_database)
        rules = IdentityRules(settings)
        keyring = Keyring(settings)
        writer = GroupCommitWriter(IdentityStore(driver, settings.neo4j_database, rules,
                                                 settings.suppression_salt),
                                   settings.group_commit_max_messages, settings.group_commit_writers)
        await writer.start()
        app.state.services = Services(settings, driver, keyring, IngestService(settings, keyring, rules), writer,
                                      rules)
        log.info("started", extra={"fields": {"neo4j": settings.neo4j_uri}})
        try:
            yield
        finally:
            await writer.close()  # graceful shutdown drains in-flight batches
            driver.close()
            log.info("stopped")

    app = FastAPI(title="Graph CDP", version="0.1.0", lifespan=lifespan, default_response_class=ORJSONResponse)
    errors.install(app)

    @app.middleware("http")
    async def request_context(request: Request, call_next):
        rid = request.headers.get("x-request-id") or uuid.uuid4().hex
        token = logs.request_id.set(rid)
        started = time.perf_counter()
        try:
            response = await call_next(request)
        finally:
            logs.request_id.reset(token)
        route = request.scope.get("route")
        metrics.REQUEST_SECONDS.labels(getattr(route, "path", "unmatched"), str(response.status_code)).observe(
            time.perf_counter() - started)
        response.headers["x-request-id"] = rid
        return response

    app.include_router(ingest.router)
    app.include_router(events.router)
    app.include_router(profiles.router)
    app.include_router(profile_graph.router)
    app.include_router(profile_admin.router)
    app.include_router(health.router)
    return app
