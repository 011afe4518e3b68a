"""The compiled Cypher selects exactly the profiles a plain Python evaluation of the same tree
selects, over a fixed population (random trees); plans use the indexes."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.db import query
from app.segments import membership, service
from app.segments.compiler import compile_filter
from app.segments.text import parse_text
from app.segments.validate import check
from tests.helpers import plan_operators
from tests.segments import dataset, reference
from tests.segments.dataset import NOW, matching_ids
from tests.segments.strategies import Vocab, trees

S0_TEXT = "traits.plan = 'pro' OR performed('A') >= 2"


@pytest.fixture(scope="module")
def base_segment(population, driver):
    """A saved segment the random trees may refer to (time-independent, so saving it 'now' is fine)."""
    tree = parse_text(S0_TEXT)
    return service.create_segment(driver, "neo4j", "base", None, tree)["id"], tree


def _vocab(segment_id: str) -> Vocab:
    return Vocab(
        traits=st.sampled_from(dataset.TRAIT_NAMES), props=st.sampled_from(dataset.PROP_NAMES),
        events=st.sampled_from(dataset.EVENTS + ["Z"]),
        strings=st.sampled_from(["pro", "Pro", "free", "trial", "Oslo", "oslo", "a", "b", "c", "EUR", "eur", "web",
                                 "mobile", "acme.io", "p1@acme.io", "seg-u1", "", "o", "true", "31", "20", "x",
                                 "Ann", "+1415555267"]),
        numbers=st.sampled_from([0, 1, 2, 3, 5, 18, 20, 30.5, 31, 45, 99.5, 150, -1, 5.0]),
        dates=st.sampled_from(["2026-01-15", "2026-02-01", "2025-12-31T23:00:00-02:00", "2026-02-20T10:00:00Z",
                               "2026-02-28T23:59:59Z", "2025-11-01", "2026-02-27T11:30:00Z"]),
        days=st.sampled_from([1, 3, 7, 30, 60, 400]), segments=st.just(segment_id))


def test_population_has_the_awkward_cases(population):
    props = [s.props for s in population]
    assert len(population) >= 20
    assert any(isinstance(p.get("t.age"), str) for p in props) and any(isinstance(p.get("t.tags"), list) for p in props)
    assert any(p.get("t.signup") == "2026-02-30" for p in props)
    assert any(sum(t == "email" for t, _ in s.identifiers) > 1 for s in population)
    assert sum(len(s.events) for s in population) > 60


def test_random_trees_select_what_python_selects(population, base_segment, driver):
    segment_id, base_tree = base_segment
    definitions = {segment_id: base_tree}
    checked = {"n": 0, "nonempty": 0}

    @settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
    @given(trees(_vocab(segment_id)))
    def compare(tree):
        check(tree, known_traits={"First Name"})
        want = reference.select(tree, population, NOW, definitions)
        got = matching_ids(driver, compile_filter(tree, NOW))
        assert got == want, f"compiled and Python disagree on {tree.model_dump()}"
        checked["n"] += 1
        checked["nonempty"] += 0 < len(want) < len(population)

    compare()
    assert checked["nonempty"] > checked["n"] // 4, "the trees should mostly split the population"


@pytest.mark.parametrize("text", [
    "traits.signup < '2026-01-01'",  # '2025-12-31T23:00:00-02:00' is 2026-01-01T01:00Z: not before
    "traits.age > 30",  # '31' (a string) is not a number
    "traits.tags = 'a' AND traits.tags != 'c'",
    "identifiers.email_domain = 'acme.io' AND NOT identifiers.email_domain = 'mail.com'",
    "performed('Order Completed' WHERE properties.amount >= 20 AND properties.when < '2026-02-15') >= 1",
    "performed('A') = 0 WITHIN 30 DAYS AND profile.sources IN ('mobile', 'server')",
    "profile.lastSeen WITHIN LAST 7 DAYS OR profile.eventCount >= 5",
])
def test_named_cases_agree(population, base_segment, driver, text):
    tree = parse_text(text)
    assert matching_ids(driver, compile_filter(tree, NOW)) == reference.select(tree, population, NOW)


def test_saved_segments_materialise_what_python_selects(population, base_segment, driver):
    segment_id, base_tree = base_segment
    records, _, _ = driver.execute_query("MATCH (:Segment {id: $id})<-[:IN_SEGMENT]-(p) RETURN collect(p.id) AS ids",
                                         id=segment_id)
    assert set(records[0]["ids"]) == reference.select(base_tree, population, NOW)

    @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
    @given(trees(_vocab(segment_id), max_leaves=4))
    def materialise(tree):
        check(tree, known_traits={"First Name"})
        saved = service.create_segment(driver, "neo4j", "random", None, tree)
        try:
            membership.evaluate_segment(driver, "neo4j", saved["id"], NOW)  # re-evaluate at the data's NOW
            page = service.members(driver, "neo4j", saved["id"], None, 1000)
            want = reference.select(tree, population, NOW, {segment_id: base_tree})
            assert {m["profileId"] for m in page["members"]} == want
            assert page["memberCount"] == len(want)
        finally:
            service.delete_segment(driver, "neo4j", saved["id"])

    materialise()


def _explain(driver, text: str, params: dict) -> list[tuple[str, str]]:
    with driver.session() as s:
        return plan_operators(s.run("EXPLAIN " + text, params).consume().plan)


def test_behaviour_in_a_window_seeks_the_identifier_time_index(population, driver):
    compiled = compile_filter(parse_text("traits.plan = 'pro' AND performed('A') >= 2 WITHIN 30 DAYS"), NOW)
    for template, extra in (("segments/preview", {"sample": 10}), ("segments/apply", {"segment": "x", "ids": [],
                                                                                      "now": NOW})):
        ops = _explain(driver, compiled.render(query(template)), {**compiled.params, **extra})
        seeks = [d for op, d in ops if op.startswith("NodeIndexSeek") and "e:Event(identifier" in d]
        assert seeks and all(", ts)" in d and "ts >= " in d for d in seeks), ops
        assert not any(op in ("AllNodesScan", "NodeByLabelScan") and "e:Event" in d for op, d in ops)


def test_upkeep_and_feed_queries_seek_their_indexes(population, driver):
    ops = _explain(driver, query("segments/changes"), {"segment": "x", "after": 0, "limit": 10})
    assert any(op.startswith("NodeUniqueIndexSeek") and "SegmentChange(segmentId, seq)" in d for op, d in ops), ops
    compiled = compile_filter(parse_text("traits.plan = 'pro'"), NOW)
    ops = _explain(driver, compiled.render(query("segments/apply")), {**compiled.params, "segment": "x", "ids": [],
                                                                        "now": NOW})
    assert any(op.startswith("NodeUniqueIndexSeek") and "p:Profile(id)" in d for op, d in ops), ops
