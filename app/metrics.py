"""Prometheus metrics of the service (exposed on /metrics)."""
from prometheus_client import REGISTRY, Counter, Gauge, Histogram

INGESTED = Counter("cdp_ingest_messages_total", "Messages stored", ["source", "type"])
DUPLICATES = Counter("cdp_ingest_duplicates_total", "Messages dropped as messageId duplicates")
# Ingestion only, so a broken SDK or a bad signing secret shows apart from admin-API mistakes, whose
# errors cdp_http_request_seconds_count already counts by route and status.
REJECTED = Counter("cdp_ingest_rejected_total",
                   "Ingestion requests refused (the Segment-compatible paths and the Stripe webhook), by status; "
                   "errors of other routes are counted by cdp_http_request_seconds by status", ["status"])
MESSAGES_REFUSED = Counter("cdp_ingest_messages_refused_total",
                           "Invalid ingest messages refused (a batch stores its valid ones beside them)")
SUPPRESSED = Counter("cdp_ingest_suppressed_total", "Messages dropped because they carry an erased identifier")
ERASED_DEVICES_STRIPPED = Counter("cdp_ingest_erased_devices_stripped_total",
                                  "Signed-in users' messages stored without a device id shared with an erased person")
MERGES = Counter("cdp_identity_merges_total", "Profiles merged into another")
REFUSALS = Counter("cdp_identity_refusals_total", "Joins refused by identity rules")
NEW_PROFILES = Counter("cdp_identity_profiles_created_total", "Profiles created")
GROUP_SIZE = Histogram("cdp_ingest_group_commit_messages", "Messages per group-commit transaction",
                       buckets=(1, 10, 50, 100, 250, 500, 1000, 2000, 5000))
# Per writer: a device that floods one writer shows here before it shows in latency.
WRITER_QUEUED = Gauge("cdp_ingest_writer_queued_messages", "Messages waiting for their group-commit writer",
                      ["writer"])
# Deadlocks between writers sharing identifiers, a concurrent writer storing a messageId first, a
# profile retired under a transaction, Neo4j briefly away: each re-runs a group's transaction.
WRITE_RETRIES = Counter("cdp_ingest_write_retries_total", "Group-commit transactions re-run, by reason",
                        ["reason"])
KNOWN_OWNER_GROUPS = Counter("cdp_ingest_known_owner_groups_total",
                             "Groups whose identifiers' remembered profiles (or, for identifiers never written "
                             "here, none) were checked in one statement: written, or not confirmed and planned "
                             "from the snapshot it answered", ["outcome"])
# Components resolved again in event-time order after a late message met a refusal: changed,
# unchanged (arrival order had already given the event-order graph), skipped (a manual split, or
# past the size cap) or failed (logged; the batch itself is committed).
REORDERED_COMPONENTS = Counter("cdp_identity_event_order_resolutions_total",
                               "Identity components resolved again in event-time order, by outcome", ["outcome"])
COMMIT_SECONDS = Histogram("cdp_ingest_commit_seconds", "Write transaction time per group commit",
                           buckets=(.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5))
REQUEST_SECONDS = Histogram("cdp_http_request_seconds", "HTTP request latency", ["route", "status"],
                            buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5))
# A collection stops every thread running Python: a long one stalls every request in flight.
GC_PAUSE_SECONDS = Histogram("cdp_python_gc_pause_seconds", "Python garbage-collector runs of this process",
                             ["generation"], buckets=(.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5))


class _GraphCollector:
    """Figures read from the graph at scrape time. Registered once per process; each app's
    lifespan points it at its driver. A scrape never fails because Neo4j blinked: the figures are
    then left out."""

    def __init__(self):
        self.driver = None
        self.database = "neo4j"

    def attach(self, driver, database: str) -> None:
        self.driver, self.database = driver, database

    def detach(self, driver) -> None:
        if self.driver is driver:
            self.driver = None

    def _records(self, name: str) -> list:
        from app.db import query

        try:
            if self.driver is None:
                raise LookupError("no app is running in this process")
            records, _, _ = self.driver.execute_query(query(name), database_=self.database, routing_="r")
        except Exception:  # noqa: BLE001 - see the class docstring
            return []
        return records


SYNC_ITEM_OUTCOMES = ("added", "removed", "updated", "failed")


class SyncOutcomes(_GraphCollector):
    """Sync run outcomes: runs happen in Celery workers, which expose no endpoint of their own, so
    the counters are the running totals the runs keep in the graph (:SyncTally, which retention
    never prunes), and the gauge counts the runs under way."""

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        runs = CounterMetricFamily("cdp_sync_runs", "Finished sync runs by destination type and status",
                                   labels=["destination", "status"])
        items = CounterMetricFamily("cdp_sync_items", "Items sync runs added, removed, updated (trait pushes) or failed",
                                    labels=["destination", "outcome"])
        active = GaugeMetricFamily("cdp_sync_runs_active", "Sync runs queued, running or deferred",
                                   labels=["destination", "status"])
        for r in self._records("ops/sync_tallies"):
            tally = r["t"]
            for key, n in sorted(tally.items()):
                if key.startswith("runs."):
                    runs.add_metric([tally["destination"], key.removeprefix("runs.")], n)
            for outcome in SYNC_ITEM_OUTCOMES:
                items.add_metric([tally["destination"], outcome], tally.get(outcome, 0))
        for r in self._records("ops/sync_active"):
            active.add_metric([r["destination"], r["status"]], r["runs"])
        yield runs
        yield items
        yield active


class TraitIndexBacklog(_GraphCollector):
    """Identify events waiting for the trait-search index: near zero while beat's task runs, and
    growing when it does not (search still finds them, by scanning them)."""

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        records = self._records("profiles/count_pending_traits")
        if records:
            yield GaugeMetricFamily("cdp_trait_index_pending_events",
                                    "Identify events waiting for the trait-search index", value=records[0]["pending"])


SYNC_OUTCOMES = SyncOutcomes()
REGISTRY.register(SYNC_OUTCOMES)
TRAIT_INDEX_BACKLOG = TraitIndexBacklog()
REGISTRY.register(TRAIT_INDEX_BACKLOG)
# What each app's lifespan attaches to its driver, and detaches when it stops.
GRAPH_COLLECTORS = (SYNC_OUTCOMES, TRAIT_INDEX_BACKLOG)
