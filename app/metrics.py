"""Prometheus metrics of the service (exposed on /metrics)."""
from prometheus_client import Counter, Histogram

INGESTED = Counter("cdp_ingest_messages_total", "Messages stored", ["source", "type"])
DUPLICATES = Counter("cdp_ingest_duplicates_total", "Messages dropped as messageId duplicates")
REJECTED = Counter("cdp_ingest_rejected_total", "Requests rejected at the edge", ["status"])
MERGES = Counter("cdp_identity_merges_total", "Profiles merged into another")
REFUSALS = Counter("cdp_identity_refusals_total", "Joins refused by identity rules")
NEW_PROFILES = Counter("cdp_identity_profiles_created_total", "Profiles created")
GROUP_SIZE = Histogram("cdp_ingest_group_commit_messages", "Messages per group-commit transaction",
                       buckets=(1, 10, 50, 100, 250, 500, 1000, 2000, 5000))
COMMIT_SECONDS = Histogram("cdp_ingest_commit_seconds", "Write transaction time per group commit",
                           buckets=(.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5))
REQUEST_SECONDS = Histogram("cdp_http_request_seconds", "HTTP request latency", ["route", "status"],
                            buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5))
