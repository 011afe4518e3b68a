"""Every knob of the service, in one place, read from CDP_* environment variables."""
from __future__ import annotations

from functools import lru_cache

from pydantic import AliasChoices, BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.identity.known_owners import DEFAULT_CAPACITY as KNOWN_OWNER_CAPACITY


class IdentifierRule(BaseModel):
    """How many identifiers of one type a profile may hold, and which type wins a conflict.

    priority: 1 is the strongest; limit None means unlimited.
    """

    limit: int | None = Field(default=None, ge=1)
    priority: int = Field(ge=1)


DEFAULT_RULES = {
    "user_id": IdentifierRule(limit=1, priority=1),
    "email": IdentifierRule(limit=5, priority=2),
    "phone": IdentifierRule(limit=5, priority=3),
    "anonymous_id": IdentifierRule(limit=None, priority=4),
}

DEFAULT_BLOCKED_VALUES = [
    "", "undefined", "null", "none", "nan", "0", "anonymous", "-1", "nil", "n/a", "na",
    "unknown", "[object object]", "guest", "test", "user", "false", "true",
]

DEFAULT_BLOCKED_EMAILS = [
    "test@test.com", "test@example.com", "email@example.com", "user@example.com",
    "example@example.com", "noreply@example.com", "no-reply@example.com", "a@a.com",
    "none@none.com", "null@null.com", "email@email.com", "test@gmail.com", "foo@bar.com",
    "asdf@asdf.com", "abc@abc.com",
]


DEFAULT_SUPPRESSION_SALT = "cdp-local-suppression-salt"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CDP_", env_nested_delimiter="__", extra="ignore")

    neo4j_uri: str = "bolt://127.0.0.1:7687"
    neo4j_user: str = "neo4j"
    neo4j_password: str = "cdp-local-password"
    neo4j_database: str = "neo4j"
    redis_url: str = "redis://127.0.0.1:6379/0"

    # write key -> source name. Local defaults only; set CDP_WRITE_KEYS in any real deployment.
    write_keys: dict[str, str] = {
        "dev-web-key": "web",
        "dev-mobile-key": "mobile",
        "dev-server-key": "server",
        "dev-stripe-key": "stripe",
    }
    # Admin bearer tokens: "[scope:]token" or "[scope:]sha256:<hex>", scope read (GET only) or admin
    # (everything; the default). Plain ones are hashed when loaded (app/auth.py).
    admin_tokens: list[str] = ["dev-admin-token"]

    # Per-write-key ingest rate limit, in messages (app/ratelimit.py); 0 turns it off. Generous by
    # default (above one node's measured capacity) so it only stops a runaway or hostile client;
    # the burst must hold the largest batch (max_batch_messages) or that batch could never pass.
    ingest_rate_per_second: float = Field(default=10_000.0, ge=0)
    ingest_rate_burst: int = Field(default=20_000, ge=1)

    # Browser origins allowed to call the API (the analytics.js snippet posts to /v1/*). No
    # credentials (cookies) are ever allowed, so "*" is safe: the write key travels in the request.
    cors_origins: list[str] = ["*"]

    identity_rules: dict[str, IdentifierRule] = DEFAULT_RULES
    blocked_values: list[str] = DEFAULT_BLOCKED_VALUES
    blocked_emails: list[str] = DEFAULT_BLOCKED_EMAILS
    default_phone_region: str = "US"

    # Salt of the suppression list's hashes (erased identifiers are never stored in clear), and the
    # key of the Stripe source's email digests. Set it in any real deployment.
    suppression_salt: str = DEFAULT_SUPPRESSION_SALT

    # Segment HTTP Tracking API limits.
    max_message_bytes: int = 32 * 1024
    max_batch_bytes: int = 500 * 1024
    max_batch_messages: int = 2500

    # Serve the ingest POSTs ahead of the framework (app/api/ingest_front.py); off, the FastAPI
    # routes serve them, with the same answers and more CPU per request.
    ingest_front: bool = True

    # Group commit: how many messages one write transaction may carry.
    group_commit_max_messages: int = Field(default=2000, ge=1)
    # Concurrent group-commit writers, each with its own queue; a message goes to the writer its
    # device (anonymousId, else strongest identifier) picks, so writers rarely wait on each other's
    # locks. More writers make smaller groups, and each group costs a transaction's fixed CPU: in
    # alternating bench/ingest.py runs on two cores, four carried no more batch load than two and
    # left /v1/track slower and the machine busier. Each writer runs in the default thread pool.
    group_commit_writers: int = Field(default=2, ge=1)
    # Writers of their own for single calls (requests of one message), routed the same way; 0 sends
    # single calls to the batch writers. At 500 calls a second one call writer made larger groups
    # than the two batch writers did, for about a fifth less CPU per call (bench/calls.py; lower
    # latency too in its latest run, not in every run), and a bulk import never queues in front of it.
    group_commit_call_writers: int = Field(default=1, ge=0)
    # Identifier -> profile entries the store remembers from its own commits, so a group whose
    # identifiers are all known is written in one statement that confirms them (app/identity/
    # known_owners.py); about 150 bytes each. 0 plans every group from a snapshot.
    known_owner_capacity: int = Field(default=KNOWN_OWNER_CAPACITY, ge=0)

    # How often beat runs the identity invariant check.
    invariant_check_seconds: float = 300.0

    # How often beat moves newly stored identify events into the trait-search index (search reads
    # the waiting ones too, so this bounds the work a search does, not what it finds).
    trait_index_seconds: float = Field(default=5.0, gt=0)

    # Segments: ingest queues touched profiles for membership upkeep (off: nothing is queued).
    segment_upkeep: bool = True
    # How often beat re-evaluates time-window segments (members age out), and drains the upkeep
    # queue as a safety net for a lost trigger.
    segment_window_seconds: float = 300.0
    # How often beat re-evaluates every segment in full (repairs anything upkeep missed).
    segment_reconcile_seconds: float = 3600.0
    # How long entry/exit feed entries are kept.
    segment_change_retention_days: int = 30

    # --- destination sync (workers/sync.py) ---
    # Encrypts destination secrets at rest (any string; a Fernet key is derived from it). Set it in
    # any real deployment: secrets written under one key cannot be read under another.
    destination_secret_key: str = "cdp-local-destination-secret-key"
    # Vendor API bases; tests point the official SDKs at local fakes through these. RESEND_API_URL
    # is the name the resend SDK itself reads.
    resend_api_url: str = Field(default="https://api.resend.com",
                                validation_alias=AliasChoices("CDP_RESEND_API_URL", "RESEND_API_URL"))
    hubspot_api_url: str = "https://api.hubapi.com"
    facebook_graph_url: str = "https://graph.facebook.com"
    facebook_api_version: str = "v21.0"
    # Members per committed cursor step: a crash re-sends at most one step.
    sync_batch_size: int = Field(default=200, ge=1, le=10_000)
    # Requests per second per destination when its config names none (token bucket in Redis).
    sync_default_rate_per_second: float = Field(default=10.0, gt=0)
    # Retries of one request: exponential backoff with full jitter, capped.
    sync_max_attempts: int = Field(default=6, ge=1)
    sync_backoff_base_seconds: float = Field(default=0.5, gt=0)
    sync_backoff_max_seconds: float = Field(default=60.0, gt=0)
    # Longer waits (Retry-After, backoff, rate limit) hand the worker back and re-queue the run.
    sync_max_inline_wait_seconds: float = Field(default=5.0, ge=0)
    # How many times a run may be re-queued that way before it is marked failed.
    sync_max_deferrals: int = Field(default=30, ge=0)
    # A running sync holds a Redis lock, refreshed after each batch; a crashed worker's lock expires.
    sync_lock_ttl_seconds: float = Field(default=120.0, gt=0)
    # Beat: how often due scheduled syncs are started, stalled runs resumed, trait changes pushed.
    sync_dispatch_seconds: float = 15.0
    sync_trait_push_seconds: float = 30.0
    # How long finished run records are kept (a scheduled sync writes a run each time it is due:
    # 1,440 a day at one a minute), and how often beat prunes older ones. Dead letters are the only
    # record of an item to send again, so they are kept until retried or discarded unless a
    # retention is set for them too.
    sync_run_retention_days: int = Field(default=30, ge=1)
    dead_letter_retention_days: int | None = Field(default=None, ge=1)
    sync_history_prune_seconds: float = Field(default=3600.0, gt=0)

    # Stripe source: the endpoint's signing secret (whsec_...), and how old a signature may be.
    stripe_webhook_secret: str | None = None
    stripe_tolerance_seconds: int = 300

    log_level: str = "INFO"


@lru_cache
def get_settings() -> Settings:
    return Settings()
