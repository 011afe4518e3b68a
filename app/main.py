"""App factory: routers, lifespan (driver, schema, group-commit writer), error handlers."""
from __future__ import annotations

import gc
import logging
from contextlib import asynccontextmanager

import redis
from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from app import db, errors, logs, metrics, ratelimit
from app.api import (
    auth,
    console,
    destinations,
    events,
    export,
    health,
    ingest,
    profile_admin,
    profile_graph,
    profiles,
    segments,
    snippet,
    stats,
    stripe,
)
from app.api.deps import Services
from app.api.ingest_front import CdpApp, IngestFront
from app.auth import Keyring
from app.destinations.traitpush import touched_recorder
from app.gc_pauses import GcPauses
from app.identity.rules import IdentityRules
from app.identity.store import IdentityStore
from app.ingest.service import IngestService
from app.ingest.writer import GroupCommitWriter
from app.request_context import RequestContext
from app.responses import JSONBody
from app.segments.queue import UpkeepQueue, celery_trigger
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
                                                 settings.suppression_salt, settings.known_owner_capacity),
                                   settings.group_commit_max_messages, settings.group_commit_writers,
                                   settings.group_commit_call_writers)
        redis_client = redis.Redis.from_url(settings.redis_url, socket_timeout=1, socket_connect_timeout=1)
        # Profiles each commit touched, for pushing trait changes to destinations (workers/sync.py).
        writer.on_commit.append(touched_recorder(redis_client))
        if settings.segment_upkeep:  # touched profiles queue up for segment membership upkeep
            writer.on_commit.append(UpkeepQueue(redis_client, celery_trigger(settings.redis_url)).on_commit)
        rate_limit = ratelimit.IngestRateLimit.from_settings(settings)
        for collector in metrics.GRAPH_COLLECTORS:
            collector.attach(driver, settings.neo4j_database)
        await writer.start()
        app.state.services = Services(settings, driver, keyring, IngestService(settings, keyring, rules), writer,
                                      rules, rate_limit)
        # Everything alive now (modules, schemas, the SDKs' classes: over 100,000 objects) lives as
        # long as the process. Frozen, the cyclic collector stops rescanning it; unfrozen, every full
        # collection rescanned all of it and paused every request in flight.
        gc.collect()
        gc.freeze()
        gc_pauses = GcPauses()
        gc_pauses.install()
        log.info("started", extra={"fields": {"neo4j": settings.neo4j_uri}})
        try:
            yield
        finally:
            await writer.close()  # graceful shutdown drains in-flight batches
            gc_pauses.uninstall()
            gc.unfreeze()  # what the app held may be collected again once it stops
            for collector in metrics.GRAPH_COLLECTORS:
                collector.detach(driver)
            driver.close()
            redis_client.close()
            if rate_limit:
                await rate_limit.close()
            log.info("stopped")

    app = CdpApp(title="Graph CDP", version="0.1.0", lifespan=lifespan, default_response_class=JSONBody)
    errors.install(app)
    ratelimit.install(app)

    if settings.ingest_front:  # served inside the same error handler, CORS and RequestContext
        app.ingest_front = IngestFront()
    # For the browser snippet (analytics.js): it posts JSON with the write key in Basic auth.
    # Credentials stay off, which is what makes a "*" origin safe. Retry-After is not a CORS-safelisted
    # response header: without exposing it, a page's script could not honour it.
    app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=False,
                       allow_methods=["GET", "POST", "OPTIONS"],
                       allow_headers=["Authorization", "Content-Type", "Content-Encoding"],
                       expose_headers=["Retry-After"], max_age=600)
    app.add_middleware(RequestContext)

    app.include_router(ingest.router)
    app.include_router(events.router)
    app.include_router(export.router)
    app.include_router(profiles.router)
    app.include_router(profile_graph.router)
    app.include_router(profile_admin.router)
    app.include_router(segments.read_router)
    app.include_router(segments.router)
    app.include_router(health.router)
    app.include_router(destinations.router)
    app.include_router(stripe.router)
    app.include_router(stats.router)
    app.include_router(auth.router)
    app.include_router(snippet.router)
    console.install(app)
    return app
