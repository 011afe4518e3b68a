"""User strings (names and values) can never change the structure of the compiled query, and ISO
dates are typed exactly as Neo4j's datetime() reads them."""
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from app.db import query
from app.segments.compiler import FILTER_MARKER, compile_filter
from app.segments.text import parse_text
from app.segments.validate import parse_tree
from app.segments.values import ISO_DATE, epoch_ms, is_iso_date
from tests.segments.dataset import matching_ids
from tests.segments.strategies import ANYTHING, plain, trees

_NAME_KEYS = {"name", "segment_id"}


def _replace_strings(node, fresh):
    """The same tree with every user string (names, event names, segment ids, string values)
    replaced through `fresh`; dates stay dates, so only the strings differ."""
    if isinstance(node, list):
        return [_replace_strings(x, fresh) for x in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in _NAME_KEYS and isinstance(value, str):
            out[key] = fresh(value, name=True)
        elif key == "value":
            swap = lambda v: fresh(v) if isinstance(v, str) and not is_iso_date(v) else v
            out[key] = [swap(v) for v in value] if isinstance(value, list) else swap(value)
        else:
            out[key] = _replace_strings(value, fresh)
    return out


@settings(max_examples=200, deadline=None)
@given(tree=trees(ANYTHING), data=st.data())
def test_query_text_does_not_depend_on_any_user_string(tree, data):
    seen: list[str] = []

    def fresh(old: str, name: bool = False) -> str:
        new = data.draw(plain(st.text(min_size=1 if name else 0, max_size=40)))
        seen.append(new)
        return new

    other = parse_tree(_replace_strings(tree.model_dump(), fresh))
    a, b = compile_filter(tree, 1_772_323_200_000), compile_filter(other, 1_772_323_200_000)
    assert a.predicate == b.predicate
    assert a.params.keys() == b.params.keys()
    flat = [x for v in b.params.values() for x in (v if isinstance(v, list) else [v])]
    assert all(s in flat for s in seen), "every user string travels as a parameter"


NASTY = ["x']) RETURN 1 //", "' OR true OR '", "}) DETACH DELETE p //", "`t.plan`", "$c0", "\\'", "*/ true /*",
         FILTER_MARKER, "\n MATCH (n) DETACH DELETE n", "p.id", "]] + [1", "\u0000"]


def test_hostile_names_and_values_are_data(clean_db):
    """A profile whose trait name and value are hostile strings is found by exactly those strings,
    and nothing else is touched."""
    name, value = NASTY[0], NASTY[1]
    clean_db.execute_query("CREATE (p:Profile {id: 'victim'}) SET p['t.' + $name] = $value, p['t.plan'] = 'free' "
                           "CREATE (:Profile {id: 'other'})", name=name, value=value)
    quoted = "'" + name.replace("'", "''") + "'"
    hit = compile_filter(parse_text(f"traits[{quoted}] = '" + value.replace("'", "''") + "'"), 0)
    assert matching_ids(clean_db, hit) == {"victim"}
    for nasty in NASTY:
        text = "'" + nasty.replace("'", "''") + "'"
        for filter_text in (f"traits[{text}] = {text}", f"performed({text} WHERE properties[{text}] = {text}) >= 1",
                            f"in_segment({text})", f"identifiers.email CONTAINS {text}", f"traits.plan IN ({text})"):
            assert matching_ids(clean_db, compile_filter(parse_text(filter_text), 0)) == set()
    records, _, _ = clean_db.execute_query("MATCH (p:Profile) RETURN count(p) AS n")
    assert records[0]["n"] == 2


def _date_like(rng: random.Random) -> str:
    s = f"{rng.choice(['0000', '0001', '1900', '1969', '2000', '2024', '2026', '2100'])}-" \
        f"{rng.randint(0, 13):02d}-{rng.randint(0, 32):02d}"
    if rng.random() < 0.7:
        s += f"T{rng.randint(0, 24):02d}:{rng.randint(0, 60):02d}"
        if rng.random() < 0.7:
            s += f":{rng.randint(0, 60):02d}" + (f".{rng.randint(0, 10**rng.randint(1, 9))}" if rng.random() < .5 else "")
        if rng.random() < 0.7:
            s += rng.choice(["Z", f"+{rng.randint(0, 19):02d}:{rng.randint(0, 59):02d}", f"-{rng.randint(0, 18):02d}:30",
                             "+0200", " "])
    return s


def test_iso_dates_are_recognised_and_converted_exactly_as_neo4j_does(driver):
    rng = random.Random(42)
    samples = [_date_like(rng) for _ in range(1500)] + ["2024-02-29", "2100-02-29", "2026-02-30", "2026-04-31",
                                                         "1969-12-31T23:59:59.9995Z", "2026-01-01\n"]
    records, _, _ = driver.execute_query(
        "UNWIND $s AS x RETURN x, x =~ $iso AS ok, CASE WHEN x =~ $iso THEN datetime(x).epochMillis END AS ms",
        s=samples, iso=ISO_DATE)
    assert sum(r["ok"] for r in records) > 500  # the sample exercises both sides
    for r in records:
        assert is_iso_date(r["x"]) == r["ok"], r["x"]
        if r["ok"]:
            assert epoch_ms(r["x"]) == r["ms"], r["x"]


def test_templates_carry_the_marker_once_per_use():
    assert query("segments/preview").count(FILTER_MARKER) == 1
    assert query("segments/apply").count(FILTER_MARKER) == 1
    assert query("segments/diff").count(FILTER_MARKER) == 2
