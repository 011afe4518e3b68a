"""Neo4j driver lifecycle, the query loader, and schema application.

Cypher lives in cypher/<group>/<name>.cypher and is loaded by "group/name"; values always
travel as parameters.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from neo4j import Driver, GraphDatabase, Session, Transaction

from app.settings import Settings

CYPHER_DIR = Path(__file__).resolve().parent.parent / "cypher"
# Neo4j's integers are 64-bit signed: the range every integer written or compared must fit.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _code(path: Path) -> str:
    """A cypher/ file without its comment lines and blank lines: Neo4j tokenises the whole text of
    every statement it runs (plan cache hit or not), and the comments are for readers."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return "\n".join(ln.rstrip() for ln in lines if ln.strip() and not ln.lstrip().startswith("//"))


@lru_cache(maxsize=None)
def query(name: str) -> str:
    """The statement in cypher/<name>.cypher, as sent: without its comment lines."""
    return _code(CYPHER_DIR / f"{name}.cypher")


@lru_cache(maxsize=256)
def in_one_statement(names: tuple[str, ...]) -> str:
    """Several write steps (each a file ending in an updating clause, with parameter names of its
    own) as one statement of unit subqueries: they run in order, in one round trip."""
    return "\n".join("CALL () {\n" + query(n) + "\n}" for n in names)


@lru_cache(maxsize=64)
def confirmed_then(guard: str, names: tuple[str, ...] = ()) -> str:
    """The statement `guard` (whose subqueries return `confirmed` and, for when it is false, a
    snapshot's columns) followed by the write steps, which run only when it confirmed: a check and
    the writes it allows, or else what to plan from, in one round trip. Without steps, the guard
    alone: a plain snapshot."""
    writes = ("\nCALL (confirmed) {\nWITH confirmed WHERE confirmed\n" + in_one_statement(names) + "\n}"
              if names else "")
    return query(guard) + writes + "\nRETURN stored, suppressed, confirmed, owners, profiles, directUsers"


class Rows(dict):
    """A statement's parameter map (the `$batch` of an ingest statement) whose repr is short. The
    driver formats every RUN's parameters for its debug log, whether or not debug logging is on:
    for a group of 100 messages that repr took longer than packing the same rows for the wire."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<Rows: {len(self)} parameters>"


def begin_pipelined(session: Session) -> Transaction:
    """An explicit transaction whose BEGIN travels with its first statement instead of waiting for
    its own answer: one round trip less per transaction (a BEGIN failure surfaces at that first
    statement). The driver does this for execute_query through an internal flag; without the flag
    (another driver version) this is a plain begin."""
    flag = getattr(session, "_pipelined_begin", None)
    if flag is None:
        return session.begin_transaction()
    with flag:
        return session.begin_transaction()


def schema_statements() -> list[str]:
    """Schema steps in file order; each file may hold several statements separated by ';'."""
    statements: list[str] = []
    for path in sorted((CYPHER_DIR / "schema").glob("*.cypher")):
        statements.extend(s.strip() for s in _code(path).split(";") if s.strip())
    return statements


def connect(settings: Settings) -> Driver:
    driver = GraphDatabase.driver(
        settings.neo4j_uri,
        auth=(settings.neo4j_user, settings.neo4j_password),
        max_connection_pool_size=50,
        connection_acquisition_timeout=30,
        # Planner notices ("relationship type MERGED_INTO does not exist yet" on a new graph) are
        # development hints, not operational events: keep them out of the service's logs.
        notifications_min_severity="OFF",
    )
    return driver


# Indexes that later schema replaced, each with the migration that must run before it is dropped.
_REPLACED_INDEXES = {"event_traits": "migrations/traits_pending"}


def _migrate(session: Session) -> None:
    """Run the migration of each replaced index still present, then drop it: a run stopped
    half-way finds the index still there and runs its (re-runnable) migration again."""
    present = {r["name"] for r in session.run("SHOW INDEXES YIELD name")}
    for index, migration in _REPLACED_INDEXES.items():
        if index in present:
            session.run(query(migration)).consume()
            session.run("DROP INDEX $name IF EXISTS", name=index).consume()


def apply_schema(driver: Driver, database: str) -> None:
    """Migrations of replaced indexes, then constraints and indexes; every statement is
    IF NOT EXISTS, so this is idempotent."""
    with driver.session(database=database) as session:
        _migrate(session)
        for stmt in schema_statements():
            session.run(stmt).consume()
        session.run("CALL db.awaitIndexes(300)").consume()
