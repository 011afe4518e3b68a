"""`cdp`: the operator's command line over the same code as the API. Settings come from CDP_*
environment variables (app.settings), so by default it talks to the local dev Neo4j."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any, NoReturn

import orjson
import typer
from neo4j.exceptions import AuthError, ServiceUnavailable
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from app import db, export
from app.auth import Keyring
from app.errors import NotFound
from app.identity.rules import IdentityRules
from app.identity.store import IdentityStore, IngestResult, StoreBusy
from app.ingest.messages import FieldError, MessageErrors
from app.ingest.prepare import PreparedMessage
from app.ingest.service import IngestService
from app.profiles import trait_index
from app.profiles.explain import explain
from app.profiles.resolve import resolve
from app.profiles.suspicious import Thresholds, suspicious_profiles
from app.settings import Settings, get_settings

app = typer.Typer(help="Graph CDP command line.", no_args_is_help=True, add_completion=False)
profile_app = typer.Typer(help="Read one profile (REF: a profile id, or type:value such as "
                               "email:ann@example.org).", no_args_is_help=True)
report_app = typer.Typer(help="Reports over all profiles.", no_args_is_help=True)
export_app = typer.Typer(help="Write events or profiles to a JSON-lines file.", no_args_is_help=True)
app.add_typer(profile_app, name="profile")
app.add_typer(report_app, name="report")
app.add_typer(export_app, name="export")

err = Console(stderr=True)
SHOWN_LINES = 5  # line numbers listed per rejection reason
IMPORT_BUSY_TRIES = 3  # sends of a chunk that keeps meeting concurrent writes
_DEFAULTS = Thresholds()


def main() -> None:
    # Server notifications (a property key not yet in an empty graph...) are for query authors,
    # not for someone running a command.
    logging.getLogger("neo4j.notifications").setLevel(logging.ERROR)
    app()


def _fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(code)


@contextmanager
def _connection() -> Iterator[tuple[Settings, Any]]:
    settings = get_settings()
    driver = db.connect(settings)
    try:
        driver.verify_connectivity()  # fail now, not after the driver's 30 s of read retries
        yield settings, driver
    except (ServiceUnavailable, AuthError) as exc:
        _fail(f"cannot use Neo4j at {settings.neo4j_uri} ({exc}); is it running (scripts/neo4j.sh start) and "
              "are CDP_NEO4J_* set?")
    except FieldError as exc:  # a malformed argument: a usage error
        _fail(f"{exc.field}: {exc.reason}", 2)
    except NotFound as exc:
        _fail(exc.reason)
    finally:
        driver.close()


def _echo_json(doc: Any) -> None:
    typer.echo(orjson.dumps(doc, default=str, option=orjson.OPT_INDENT_2).decode())


def _profile_id(settings: Settings, driver, ref: str) -> str:
    return resolve(driver, settings.neo4j_database, IdentityRules(settings), ref)


# --- cdp profile ... ---

@profile_app.command("show")
def profile_show(ref: str = typer.Argument(..., help="profile id or type:value")) -> None:
    """The profile document as JSON."""
    with _connection() as (settings, driver):
        profile_id = _profile_id(settings, driver, ref)
        from app.profiles.document import profile_document  # lazy: only this command needs the read model

        _echo_json(profile_document(driver, settings.neo4j_database, profile_id))


@profile_app.command("events")
def profile_events(ref: str = typer.Argument(..., help="profile id or type:value"),
                   limit: int = typer.Option(20, help="events per page (the timeline's limits apply)"),
                   cursor: str | None = typer.Option(None, help="the `next` of a previous page")) -> None:
    """The profile's events, newest first, as JSON {events, next}."""
    with _connection() as (settings, driver):
        profile_id = _profile_id(settings, driver, ref)
        from app.profiles.timeline import timeline

        _echo_json(timeline(driver, settings.neo4j_database, profile_id, limit=limit, cursor=cursor))


@profile_app.command("explain")
def profile_explain(ref: str = typer.Argument(..., help="profile id or type:value"),
                    a: str = typer.Argument(..., help="identifier, e.g. email:ann@example.org"),
                    b: str = typer.Argument(..., help="identifier, e.g. user_id:42"),
                    as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Why A and B share the profile: the chain of messages that joined them."""
    with _connection() as (settings, driver):
        profile_id = _profile_id(settings, driver, ref)
        answer = explain(driver, settings.neo4j_database, IdentityRules(settings), profile_id, a, b)
    if as_json:
        _echo_json(answer)
        return
    typer.echo(f"{answer['a']} and {answer['b']} share profile {answer['profileId']}")
    if not answer["path"]:
        typer.echo(f"  {answer['reason']}")
        return
    for step in answer["path"]:
        typer.echo(f"  {step['from']} -> {step['to']}: message {step['messageId']} at {step['at']} "
                   f"from {step['source']} (seen together {step['count']}x)")


# --- cdp report ... ---

@report_app.command("suspicious")
def report_suspicious(
    min_anonymous: int = typer.Option(_DEFAULTS.min_anonymous, min=1, help="at least this many anonymous ids",
                                      show_default=True),
    min_emails: int = typer.Option(_DEFAULTS.min_emails, min=1, help="at least this many emails"),
    min_phones: int = typer.Option(_DEFAULTS.min_phones, min=1, help="at least this many phones"),
    min_refusals: int = typer.Option(_DEFAULTS.min_refusals, min=1, help="a join refused this often"),
    limit: int = typer.Option(100, min=1, max=1000),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Profiles with too many identifiers or repeatedly refused joins."""
    with _connection() as (settings, driver):
        report = suspicious_profiles(driver, settings.neo4j_database,
                                     Thresholds(min_anonymous, min_emails, min_phones, min_refusals), limit)
    if as_json:
        _echo_json(report)
        return
    if not report["profiles"]:
        typer.echo("no suspicious profiles")
        return
    table = Table("profile", "user ids", "anonymous ids", "emails", "phones", "max refused", "why")
    for p in report["profiles"]:
        ids = p["identifiers"]
        table.add_row(p["profileId"], *(str(ids[t]) for t in ("user_id", "anonymous_id", "email", "phone")),
                      str(p["maxRefusedCount"]), "; ".join(p["reasons"]))
    Console(width=200).print(table)


# --- cdp import ---

@dataclass
class ImportSummary:
    lines: int = 0
    accepted: int = 0  # stored as new events
    duplicates: int = 0  # messageIds already stored, or repeated in the file
    rejected: int = 0
    suppressed: int = 0  # valid, but carrying an erased identifier
    erased_devices_stripped: int = 0  # stored without a device id shared with an erased person
    merges: int = 0
    new_profiles: int = 0
    refused_joins: int = 0
    reasons: dict[str, list[int]] = field(default_factory=dict)  # reason -> line numbers

    def reject(self, line_no: int, reason: str) -> None:
        self.rejected += 1
        self.reasons.setdefault(reason, []).append(line_no)

    def as_dict(self) -> dict:
        doc = asdict(self)
        doc["reasons"] = [{"reason": r, "count": len(ns), "lines": ns[:SHOWN_LINES]}
                          for r, ns in sorted(self.reasons.items(), key=lambda kv: (-len(kv[1]), kv[0]))]
        return doc


def _reason(errors: list[FieldError]) -> str:
    # Validated as a one-message batch: drop the "batch[0]." the paths carry.
    e = errors[0]
    return f"{e.field.removeprefix('batch[0]').lstrip('.') or 'message'}: {e.reason}"


class Importer:
    def __init__(self, settings: Settings, driver, source: str, summary: ImportSummary):
        rules = IdentityRules(settings)
        self.service = IngestService(settings, Keyring(settings), rules)
        self.store = IdentityStore(driver, settings.neo4j_database, rules, settings.suppression_salt)
        self.source = source
        self.summary = summary

    def _validate(self, chunk: list[tuple[int, Any]]) -> list[PreparedMessage]:
        try:
            return self.service.batch({"batch": [raw for _, raw in chunk]}, self.source, replay=True)
        except (MessageErrors, FieldError):
            pass  # a bad line: validate one by one, so its neighbours still go in
        out: list[PreparedMessage] = []
        for line_no, raw in chunk:
            try:
                out.extend(self.service.batch({"batch": [raw]}, self.source, replay=True))
            except MessageErrors as exc:
                self.summary.reject(line_no, _reason(exc.errors))
            except FieldError as exc:
                self.summary.reject(line_no, _reason([exc]))
        return out

    def _ingest(self, prepared: list[PreparedMessage], first_line: int, last_line: int) -> IngestResult:
        """A chunk that meets concurrent writes (the API storing the same people) for the store's
        whole retry budget was not written at all: it is sent again, a few times, before the import
        stops with where it stopped (a rerun skips what was stored, by messageId)."""
        attempt = 1
        while True:
            try:
                return self.store.ingest(prepared)
            except StoreBusy as exc:
                if attempt == IMPORT_BUSY_TRIES:
                    _fail(f"lines {first_line}-{last_line} were not stored: {exc}, {IMPORT_BUSY_TRIES} times. "
                          "Lines before them were; run the import again later (stored messages are skipped "
                          "by messageId).")
                attempt += 1
                err.print(f"lines {first_line}-{last_line} met concurrent writes; sending them again "
                          f"(try {attempt} of {IMPORT_BUSY_TRIES})", highlight=False)

    def flush(self, chunk: list[tuple[int, Any]]) -> None:
        prepared = self._validate(chunk)
        if not prepared:
            return
        result = self._ingest(prepared, chunk[0][0], chunk[-1][0])
        s = self.summary
        s.accepted += result.stored
        s.duplicates += result.duplicates
        s.suppressed += result.suppressed
        s.erased_devices_stripped += result.erased_devices_stripped
        s.merges += result.merges
        s.new_profiles += result.new_profiles
        s.refused_joins += result.refusals


def _print_summary(path: Path, source: str, s: ImportSummary) -> None:
    typer.echo(f"imported {path} as source {source!r}")
    typer.echo(f"  lines read  {s.lines}")
    typer.echo(f"  accepted    {s.accepted}")
    typer.echo(f"  duplicates  {s.duplicates}")
    typer.echo(f"  rejected    {s.rejected}")
    for r in s.as_dict()["reasons"]:
        more = ", ..." if r["count"] > len(r["lines"]) else ""
        typer.echo(f"    {r['count']} x {r['reason']} (lines {', '.join(map(str, r['lines']))}{more})")
    if s.suppressed:
        typer.echo(f"  suppressed  {s.suppressed} (carry an erased identifier)")
    if s.erased_devices_stripped:
        typer.echo(f"  stripped    {s.erased_devices_stripped} (stored without a device id shared with an erased person)")
    typer.echo(f"  profiles    {s.new_profiles} new, {s.merges} merges, {s.refused_joins} refused joins")


@app.command("import")
def import_file(path: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                            help="Segment messages, one JSON object per line"),
                source: str = typer.Option("web", help="source name recorded on events whose line names none "
                                                       "(an event export's lines name theirs)"),
                batch_size: int = typer.Option(500, min=1, help="messages per write transaction"),
                as_json: bool = typer.Option(False, "--json", help="print the summary as JSON")) -> None:
    """Import a JSONL file of Segment messages; bad lines are rejected with a reason, the rest stored."""
    summary = ImportSummary()
    with _connection() as (settings, driver):
        if batch_size > settings.max_batch_messages:
            raise typer.BadParameter(f"at most {settings.max_batch_messages}", param_hint="--batch-size")
        db.apply_schema(driver, settings.neo4j_database)  # messageId dedup needs the constraint
        importer = Importer(settings, driver, source, summary)
        chunk: list[tuple[int, Any]] = []
        columns = (TextColumn("importing"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
        with path.open("rb") as f, Progress(*columns, console=err) as progress:
            task = progress.add_task("import", total=path.stat().st_size)
            for line_no, line in enumerate(f, start=1):
                progress.advance(task, len(line))
                if not line.strip():
                    continue
                summary.lines += 1
                try:
                    chunk.append((line_no, orjson.loads(line)))
                except orjson.JSONDecodeError:
                    summary.reject(line_no, "invalid JSON")
                if len(chunk) >= batch_size:
                    importer.flush(chunk)
                    chunk = []
            if chunk:
                importer.flush(chunk)
    if as_json:
        _echo_json(summary.as_dict())
    else:
        _print_summary(path, source, summary)


@app.command("index-traits")
def index_traits(chunk: int = typer.Option(trait_index.DEFAULT_CHUNK, min=1, help="events per transaction")) -> None:
    """Move every identify event waiting for the trait-search index into it now (the worker does
    this every few seconds; useful after an import with no worker running)."""
    with _connection() as (settings, driver):
        db.apply_schema(driver, settings.neo4j_database)  # the index itself
        pending = trait_index.pending_count(driver, settings.neo4j_database)
        columns = (TextColumn("indexing traits"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=err) as progress:
            task = progress.add_task("index", total=pending)
            indexed = trait_index.index_pending(driver, settings.neo4j_database, chunk,
                                                progress=lambda done: progress.update(task, completed=done))
    typer.echo(f"indexed {indexed:,} identify events for trait search")


@app.command("rederive-traits")
def rederive_traits(chunk: int = typer.Option(200, min=1, max=export.PROFILES_MAX_LIMIT,
                                             help="profiles per transaction")) -> None:
    """Re-derive every live profile's traits, event count and sources from its events, under the
    current rules (after an upgrade that changed them: traits now come from identify calls alone).
    Segment memberships follow at the next reconcile; destinations get the new values when the
    profile next changes or a sync next sends it."""
    from app.identity.profile_state import rederive
    from app.ingest.timestamps import now_ms

    with _connection() as (settings, driver):
        q = export.profile_export(limit=chunk)
        total = export.count_profiles(driver, settings.neo4j_database, q)

        def work(tx, ids: list[str]) -> None:
            for pid in ids:
                if tx.run(db.query("identity/lock_profile"), profile=pid, now=now_ms()).single() is not None:
                    rederive(tx, pid)  # else erased or merged away since the page was read

        done = 0
        columns = (TextColumn("re-deriving traits"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=err) as progress, driver.session(database=settings.neo4j_database) as session:
            task = progress.add_task("rederive", total=total)
            after = ""
            while True:
                ids = [r["id"] for r in session.run(db.query("export/profile_ids_page"), afterId=after,
                                                    seenSince=None, limit=chunk)]
                if not ids:
                    break
                session.execute_write(work, ids)
                done += len(ids)
                after = ids[-1]
                progress.update(task, completed=done)
    typer.echo(f"re-derived {done:,} profiles")


@app.command("resolve-again")
def resolve_again(chunk: int = typer.Option(500, min=1, max=10_000, help="identifiers read per page"),
                  max_identifiers: int = typer.Option(20_000, min=1, help="skip a component larger than this"),
                  max_events: int = typer.Option(1_000_000, min=1,
                                                 help="skip a component whose profiles hold more events"),
                  as_json: bool = typer.Option(False, "--json", help="print the summary as JSON")) -> None:
    """Resolve every component where a rule refused a join or claimed an identifier again, in
    event-time order: what ingest does on its own when a late message meets a rule's decision,
    with larger caps. For a graph written before it did, a component ingest skipped for its size,
    or one whose resolution failed (cdp_identity_event_order_resolutions_total counts both). The
    segment memberships of the profiles it changes are brought up to date as it goes."""
    from app.identity.event_order import resolve_safely
    from app.ingest.timestamps import now_ms
    from app.segments.upkeep import upkeep

    with _connection() as (settings, driver):
        rules = IdentityRules(settings)
        database = settings.neo4j_database
        total = driver.execute_query(db.query("identity/count_contested"), database_=database).records[0]["n"]
        cause = {"messageId": None, "ts": now_ms(), "source": "resolve-again"}
        outcomes: dict[str, int] = {}
        summary = {"components": 0, "moved": 0, "retired": 0, "newProfiles": 0, "edgesChanged": 0}
        done: set[str] = set()
        read = 0
        columns = (TextColumn("resolving in event-time order"), BarColumn(), MofNCompleteColumn(),
                   TimeRemainingColumn())
        with Progress(*columns, console=err) as progress:
            task = progress.add_task("resolve", total=total)
            after = ""
            while True:
                keys = [r["key"] for r in driver.execute_query(
                    db.query("identity/contested_page"), after=after, limit=chunk, database_=database).records]
                if not keys:
                    break
                for key in keys:
                    if key not in done:
                        change = resolve_safely(driver, database, rules, [key], cause,
                                                max_identifiers=max_identifiers, max_events=max_events)
                        done.update(change.keys)
                        if change.outcome == "changed":
                            upkeep(driver, database, change.live_profiles | change.retired.keys())
                        outcomes[change.outcome] = outcomes.get(change.outcome, 0) + 1
                        summary["components"] += 1
                        summary["moved"] += change.moved
                        summary["retired"] += len(change.retired)
                        summary["newProfiles"] += change.new_profiles
                        summary["edgesChanged"] += change.edges_changed
                    read += 1
                    progress.update(task, completed=read, total=max(total, read))
                after = keys[-1]
    summary["outcomes"] = dict(sorted(outcomes.items()))
    if as_json:
        typer.echo(orjson.dumps(summary).decode())
    else:
        typer.echo(f"resolved {summary['components']:,} components again: "
                   + ", ".join(f"{n:,} {o.replace('_', ' ')}" for o, n in summary["outcomes"].items())
                   + f"; {summary['moved']:,} identifiers moved, {summary['retired']:,} profiles retired, "
                   f"{summary['newProfiles']:,} new")
    if outcomes.get("failed"):
        raise typer.Exit(1)


# --- cdp export ... ---

def _write_export(out: Path | None, label: str, total: int, pages: Iterator[list[dict]]) -> int:
    """Pages to JSON lines, in `out` (written whole or not at all: a partial file is never left
    under its name) or on stdout; progress on stderr. Returns the number of lines written."""
    columns = (TextColumn(f"exporting {label}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    part = None if out is None else out.with_name(out.name + ".part")
    written = 0
    try:
        with (part.open("wb") if part else _stdout()) as f, Progress(*columns, console=err) as progress:
            task = progress.add_task(label, total=total)
            for page in pages:
                f.write(b"".join(orjson.dumps(item) + b"\n" for item in page))
                written += len(page)
                progress.update(task, completed=written, total=max(total, written))
    except BaseException:
        if part is not None:
            part.unlink(missing_ok=True)
        raise
    if part is not None:
        part.replace(out)
    return written


@contextmanager
def _stdout() -> Iterator[Any]:
    yield typer.get_binary_stream("stdout")


_Out = Annotated[Path | None, typer.Option("--out", "-o", dir_okay=False, help="file to write (default: stdout)")]


@export_app.command("events")
def export_events(out: _Out = None,
                  since: str | None = typer.Option(None, help="events at or after this time (ISO 8601, UTC "
                                                              "if no offset)"),
                  until: str | None = typer.Option(None, help="events before this time"),
                  source: str | None = typer.Option(None, help="only this source's events"),
                  types: Annotated[list[str] | None, typer.Option("--type", help="only these types (repeat)")] = None,
                  page_size: int = typer.Option(export.EVENTS_MAX_LIMIT, min=1, max=export.EVENTS_MAX_LIMIT,
                                                help="events per read transaction")) -> None:
    """Every stored event, oldest first, as JSON lines (the event with its current profileId);
    `cdp import` reads the file back."""
    with _connection() as (settings, driver):
        database = settings.neo4j_database
        q = export.event_export(limit=page_size, types=types, source=source, since=since, until=until)
        total = export.count_events(driver, database, q)
        pages = export.all_pages(lambda page_q: export.events_page(driver, database, page_q), q, "events")
        written = _write_export(out, "events", total, pages)
    err.print(f"exported {written:,} events" + (f" to {out}" if out else ""), highlight=False)


@export_app.command("profiles")
def export_profiles(out: _Out = None,
                    seen_since: str | None = typer.Option(None, help="only profiles with an event at or after "
                                                                     "this time (ISO 8601)"),
                    page_size: int = typer.Option(export.PROFILES_DEFAULT_LIMIT, min=1,
                                                  max=export.PROFILES_MAX_LIMIT,
                                                  help="profiles per read transaction")) -> None:
    """Every live profile's document, by id, as JSON lines (as GET /v1/profiles/{id} answers)."""
    with _connection() as (settings, driver):
        database = settings.neo4j_database
        q = export.profile_export(limit=page_size, seen_since=seen_since)
        total = export.count_profiles(driver, database, q)
        pages = export.all_pages(lambda page_q: export.profiles_page(driver, database, page_q), q, "profiles")
        written = _write_export(out, "profiles", total, pages)
    err.print(f"exported {written:,} profiles" + (f" to {out}" if out else ""), highlight=False)
