"""The text form: parse and print round-trip, the documented example, positioned errors."""
import pytest
from hypothesis import given, settings

from app.ingest.messages import MessageErrors
from app.segments.models import And, EventCondition, Not, Or, TraitCondition, Window
from app.segments.printer import print_text
from app.segments.text import FilterSyntaxError, parse_text
from app.segments.validate import check
from tests.segments.strategies import ANYTHING, trees


@settings(max_examples=300, deadline=None)
@given(trees(ANYTHING))
def test_print_then_parse_gives_the_same_tree(tree):
    text = print_text(tree)
    assert parse_text(text) == tree
    assert print_text(parse_text(text)) == text


def test_the_issue_example_parses_to_the_expected_tree():
    tree = parse_text("traits.plan = 'pro' AND performed('Upgraded Plan') >= 1 WITHIN 30 DAYS "
                      "AND NOT performed('App Opened') WITHIN 7 DAYS")
    assert tree == And(filters=[
        TraitCondition(name="plan", op="eq", value="pro"),
        EventCondition(name="Upgraded Plan", window=Window(days=30)),
        Not(filter=EventCondition(name="App Opened", window=Window(days=7))),
    ])


def test_keywords_any_case_precedence_and_brackets():
    a, b, c = (TraitCondition(name=n, op="exists") for n in "abc")
    assert parse_text("traits.a exists or traits.b EXISTS and traits.c Exists") == Or(filters=[a, And(filters=[b, c])])
    assert parse_text("(traits.a EXISTS OR traits.b EXISTS) AND traits.c EXISTS") == And(filters=[Or(filters=[a, b]), c])
    assert parse_text("NOT traits.a EXISTS AND traits.b EXISTS") == And(filters=[Not(filter=a), b])
    assert print_text(And(filters=[a])) == "traits.a EXISTS"  # a group of one prints as its member


def test_values_names_and_operators():
    tree = parse_text("traits['First Name'] STARTS WITH 'O''B' AND traits.age BETWEEN 18 AND 30.5 "
                      "AND traits.vip != true AND traits.tags NOT IN ('a', 'b') AND traits.signup < '2026-01-01' "
                      "AND identifiers.email_domain IN ('acme.io') AND profile.lastSeen WITHIN LAST 1 DAY "
                      "AND performed('Order' WHERE properties.total >= -2.5e3 AND properties.gift = false) = 0 "
                      "BETWEEN '2026-01-01' AND '2026-02-01'")
    parts = tree.filters
    assert parts[0] == TraitCondition(name="First Name", op="starts_with", value="O'B")
    assert parts[1].value == [18, 30.5] and isinstance(parts[1].value[0], int)
    assert parts[2].op == "neq" and parts[2].value is True
    assert parts[3].op == "not_in" and parts[4].value == "2026-01-01"
    assert parts[6].op == "within_last" and parts[6].value == 1
    event = parts[7]
    assert event.where[0].value == -2500.0 and event.count.op == "eq" and event.count.value == 0
    assert event.window == Window(start="2026-01-01", end="2026-02-01")


@pytest.mark.parametrize("text, position, expected", [
    ("traits.plan", 11, "an operator"),
    ("traits.plan = ", 14, "a value"),
    ("traits.plan = 'pro' AND", 23, "a condition"),
    ("plan = 'pro'", 0, "a condition"),
    ("traits.plan = 'pro", 18, "a closing quote"),
    ("profile.colour = 1", 8, "one of firstSeen"),
    ("(traits.a = 1", 13, "')'"),
    ("traits.a = 1 traits.b = 2", 13, "AND, OR or the end"),
    ("performed('A') >= 2 WITHIN 7 WEEKS", 29, "DAYS"),
    ("performed('A' WHERE traits.x = 1)", 20, "properties."),
    ("performed('A') WITHIN 0 DAYS", 22, "a valid days"),
    ("traits.x WITHIN 3 DAYS", 16, "LAST"),
])
def test_syntax_errors_name_the_position_and_what_was_expected(text, position, expected):
    with pytest.raises(FilterSyntaxError) as err:
        parse_text(text)
    assert err.value.position == position
    assert err.value.expected.startswith(expected)
    assert err.value.field == "text" and f"position {position}" in err.value.reason


def test_a_parsed_tree_is_still_checked():
    with pytest.raises(MessageErrors) as err:
        check(parse_text("traits.vip > true OR traits['odd name'] = 1"), "text")
    fields = [e.field for e in err.value.errors]
    assert fields == ["text.filters[0].value", "text.filters[1].name"]
