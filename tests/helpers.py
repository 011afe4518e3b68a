"""Test helpers: auth headers, ids, and reads of the graph's state."""
from __future__ import annotations

import base64
import socket
import time
import uuid
from pathlib import Path

from app.db import query

# Empties the graph (schema kept), in batches so a large test or benchmark graph fits in memory.
# IN TRANSACTIONS needs an auto-commit query.
WIPE_GRAPH = "MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 20000 ROWS"

ADMIN = {"Authorization": "Bearer dev-admin-token"}


def basic(write_key: str = "dev-web-key") -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()}


def free_port() -> int:
    """A loopback port nobody listens on now (for a server a test or benchmark starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def new_id(prefix: str = "m") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def partition(driver) -> set[frozenset[str]]:
    """The live profiles as sets of identifier keys."""
    records, _, _ = driver.execute_query(query("ops/partition"))
    return {frozenset(r["keys"]) for r in records}


def invariants(driver) -> dict:
    records, _, _ = driver.execute_query(query("ops/invariants"))
    return dict(records[0])


def assert_invariants(driver) -> None:
    bad = {k: v for k, v in invariants(driver).items() if v}
    assert not bad, f"identity invariants broken: {bad}"


def plan_operators(plan: dict) -> list[tuple[str, str]]:
    """(operator, details) for every step of an EXPLAIN or PROFILE plan, depth first."""
    out = [(plan["operatorType"].split("@")[0], str(plan.get("args", {}).get("Details", "")))]
    for child in plan.get("children", []):
        out += plan_operators(child)
    return out


def count(driver, cypher: str, **params) -> int:
    records, _, _ = driver.execute_query(cypher, **params)
    return records[0][0]


def index_names(driver) -> set[str]:
    return {r["name"] for r in driver.execute_query("SHOW INDEXES YIELD name RETURN name").records}


def run_on_own_thread(coro_fn):
    """asyncio.run(coro_fn()) on a thread of its own (a browser test may leave a loop running on
    this one); returns its result or re-raises its exception."""
    import asyncio
    import threading

    outcome: dict = {}

    def run() -> None:
        try:
            outcome["result"] = asyncio.run(coro_fn())
        except BaseException as exc:  # noqa: BLE001 - re-raised on the test's thread
            outcome["error"] = exc

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(60)
    assert not worker.is_alive(), "the coroutine did not finish in 60 s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def hold_busy(driver, key: str) -> None:
    """The profile of identifier `key` reads as retired under its identifiers, as if a concurrent
    merge won the race on every re-run: the store's transactions for that person conflict (stale
    snapshot) until `release_busy`."""
    driver.execute_query("MATCH (:Identifier {key: $key})-[:BELONGS_TO]->(p:Profile) "
                         "SET p.retiredAt = 1, p.heldBusy = true", key=key)


def release_busy(driver) -> None:
    driver.execute_query("MATCH (p:Profile {heldBusy: true}) REMOVE p.retiredAt, p.heldBusy")


def wait_for(predicate, timeout: float = 30.0, what: str = "condition", log: Path | None = None):
    """Poll with a deadline: a worker's progress is observed, never assumed after a sleep. `log`:
    a file whose tail the failure shows."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    tail = log.read_text(errors="replace")[-4000:] if log else ""
    raise AssertionError(f"timed out waiting for {what}\n{tail}".rstrip())


def metric_sum(client, line_start: str) -> float:
    """The sum of the /metrics samples whose line starts so (0 when none does)."""
    return sum(float(ln.rsplit(" ", 1)[1]) for ln in client.get("/metrics").text.splitlines()
               if ln.startswith(line_start))
