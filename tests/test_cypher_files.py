"""The loader of cypher/ files: what the service sends Neo4j is each file's statement."""
from app.db import CYPHER_DIR, confirmed_then, in_one_statement, query


def _names() -> list[str]:
    return sorted(str(p.relative_to(CYPHER_DIR).with_suffix("")) for p in CYPHER_DIR.glob("*/*.cypher")
                  if p.parent.name != "schema")


def test_statements_are_sent_without_their_comment_lines():
    for name in _names():
        text = (CYPHER_DIR / f"{name}.cypher").read_text(encoding="utf-8")
        code = [ln.rstrip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("//")]
        assert query(name).splitlines() == code, name


def test_a_file_that_is_mostly_comment_keeps_every_line_of_its_statement():
    snapshot = query("ingest/snapshot")
    assert "//" not in snapshot  # its comments are whole lines
    assert snapshot.startswith("CALL () {") and snapshot.endswith("RETURN collect({key: key, users: users}) AS directUsers\n}")
    alone = confirmed_then("ingest/snapshot")
    assert alone == snapshot + "\nRETURN stored, suppressed, confirmed, owners, profiles, directUsers"
    then = confirmed_then("ingest/snapshot", ("ingest/create_events",))
    assert then.startswith(snapshot) and "WITH confirmed WHERE confirmed" in then and "//" not in then
    combined = in_one_statement(("ingest/create_events", "ingest/set_traits"))
    assert "//" not in combined and combined.count("CALL () {") == 2
