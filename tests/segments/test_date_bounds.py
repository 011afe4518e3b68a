"""A date-only filter value stands for its whole UTC day: an upper bound ending on it includes its
last millisecond, a lower bound starting on it its first; a date-time bound is the instant given.
Each case has an event (and a trait, and firstSeen) at the very start and very end of the day."""
import pytest

from app.segments.compiler import compile_filter
from app.segments.text import parse_text
from app.segments.validate import parse_tree
from tests.identity.factory import ingest, msg
from tests.segments.dataset import matching_ids

# One person per instant: the last ms before the day, its first and last ms, the first ms after.
TIMES = {"before": "2026-11-14T23:59:59.999Z", "start": "2026-11-15T00:00:00.000Z",
         "end": "2026-11-15T23:59:59.999Z", "after": "2026-11-16T00:00:00.000Z"}
DAY = "2026-11-15"


@pytest.fixture
def edges(store, settings, clean_db) -> dict[str, str]:
    """Profile id by name; each profile's only messages (and its paidAt trait) are at its instant."""
    for name, at in TIMES.items():
        ingest(store, settings, [msg("identify", userId=name, traits={"paidAt": at}, timestamp=at),
                                 msg("track", userId=name, event="Order Completed", timestamp=at,
                                     properties={"at": at})])
    records, _, _ = clean_db.execute_query(
        "MATCH (i:Identifier {type: 'user_id'})-[:BELONGS_TO]->(p:Profile) "
        "RETURN i.value AS name, p.id AS id")
    return {r["name"]: r["id"] for r in records}


def _select(clean_db, edges, tree) -> set[str]:
    names = {pid: name for name, pid in edges.items()}
    return {names[pid] for pid in matching_ids(clean_db, compile_filter(tree, 0))}


@pytest.mark.parametrize("text, want", [
    (f"traits.paidAt <= '{DAY}'", {"before", "start", "end"}),
    (f"traits.paidAt < '{DAY}'", {"before"}),
    (f"traits.paidAt > '{DAY}'", {"after"}),
    (f"traits.paidAt >= '{DAY}'", {"start", "end", "after"}),
    (f"traits.paidAt = '{DAY}'", {"start", "end"}),
    (f"traits.paidAt != '{DAY}'", {"before", "after"}),
    (f"traits.paidAt IN ('{DAY}', '2020-01-01')", {"start", "end"}),
    (f"traits.paidAt NOT IN ('{DAY}')", {"before", "after"}),
    (f"traits.paidAt BETWEEN '2026-11-01' AND '{DAY}'", {"before", "start", "end"}),
    (f"traits.paidAt BETWEEN '{DAY}' AND '{DAY}'", {"start", "end"}),
    (f"profile.firstSeen BETWEEN '2026-11-01' AND '{DAY}'", {"before", "start", "end"}),
    (f"profile.firstSeen <= '{DAY}'", {"before", "start", "end"}),
    (f"profile.firstSeen > '{DAY}'", {"after"}),
    (f"profile.lastSeen < '{DAY}'", {"before"}),
    (f"profile.lastSeen >= '{DAY}'", {"start", "end", "after"}),
    (f"performed('Order Completed') BETWEEN '2026-11-01' AND '{DAY}'", {"before", "start", "end"}),
    (f"performed('Order Completed') BETWEEN '{DAY}' AND '{DAY}'", {"start", "end"}),
    (f"performed('Order Completed' WHERE properties.at <= '{DAY}') >= 1", {"before", "start", "end"}),
    (f"performed('Order Completed' WHERE properties.at > '{DAY}') >= 1", {"after"}),
    # A date-time bound is the instant as given.
    (f"traits.paidAt <= '{DAY}T00:00:00Z'", {"before", "start"}),
    (f"traits.paidAt > '{DAY}T23:59:59.998Z'", {"end", "after"}),
    (f"traits.paidAt = '{DAY}T23:59:59.999Z'", {"end"}),
    (f"profile.firstSeen BETWEEN '{DAY}T00:00:00.001Z' AND '{DAY}T23:59:59.999Z'", {"end"}),
    (f"performed('Order Completed') BETWEEN '2026-11-01' AND '{DAY}T23:59:59.998Z'", {"before", "start"}),
    (f"performed('Order Completed') BETWEEN '{DAY}T00:00:00.001Z' AND '2026-11-16'", {"end", "after"}),
])
def test_date_only_bounds_take_in_the_whole_day(clean_db, edges, text, want):
    assert _select(clean_db, edges, parse_text(text)) == want


def test_the_tree_form_reads_date_bounds_the_same_way(clean_db, edges):
    window = {"type": "event", "name": "Order Completed", "window": {"start": "2026-11-01", "end": DAY}}
    between = {"type": "profile", "field": "firstSeen", "op": "between", "value": ["2026-11-01", DAY]}
    lte = {"type": "trait", "name": "paidAt", "op": "lte", "value": DAY}
    for tree in (window, between, lte):
        assert _select(clean_db, edges, parse_tree(tree)) == {"before", "start", "end"}, tree
    assert _select(clean_db, edges, parse_tree({**lte, "op": "gt"})) == {"after"}
