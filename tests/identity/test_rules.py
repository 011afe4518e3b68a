"""Normalisation and blocked values (no database needed)."""
import pytest

from app.identity.rules import IdentityRules, extract_identifiers
from app.settings import Settings


@pytest.fixture
def r():
    return IdentityRules(Settings(default_phone_region="US"))


@pytest.mark.parametrize("raw,expected", [
    ("  Ann@Example.COM ", "ann@example.com"),
    ("bob@mail.co.uk", "bob@mail.co.uk"),
    ("not-an-email", None),
    ("test@test.com", None),
    ("TEST@EXAMPLE.COM", None),
])
def test_email_is_trimmed_lowercased_and_placeholders_blocked(r, raw, expected):
    assert r.normalise("email", raw) == expected


@pytest.mark.parametrize("raw", ["(415) 555-0134", "+1 415-555-0134", "4155550134", "415.555.0134"])
def test_phone_variants_become_one_e164(r, raw):
    assert r.normalise("phone", raw) == "+14155550134"


def test_phone_region_is_configurable():
    gb = IdentityRules(Settings(default_phone_region="GB"))
    assert gb.normalise("phone", "020 7946 0018") == "+442079460018"


@pytest.mark.parametrize("raw", ["", "  ", "undefined", "NULL", "None", "nan", "0", "anonymous", "-1",
                                 "00000000-0000-0000-0000-000000000000", "00000000000000000000000000000000"])
def test_blocked_values_are_not_identifiers(r, raw):
    assert r.normalise("user_id", raw) is None
    assert r.normalise("anonymous_id", raw) is None


def test_blocked_values_are_configurable():
    custom = IdentityRules(Settings(blocked_values=["guest-42"]))
    assert custom.normalise("user_id", "GUEST-42") is None
    assert custom.normalise("user_id", "null") == "null"


@pytest.mark.parametrize("raw", ["12", "call me", "1234567890", "+1 000-000-0000", "5555555555", "(999) 999-9999"])
def test_unusable_and_fake_phones_are_dropped(r, raw):
    assert r.normalise("phone", raw) is None


def test_extract_reads_every_documented_field(r):
    msg = {"userId": "u1", "anonymousId": "a1", "traits": {"email": "A@x.io", "phone": "4155550134"},
           "context": {"traits": {"email": "b@x.io", "phone": "+442079460018"}}, "properties": {"email": "c@x.io"}}
    found, dropped = extract_identifiers(r, msg)
    assert {i.key for i in found} == {"user_id:u1", "anonymous_id:a1", "email:a@x.io", "email:b@x.io",
                                      "email:c@x.io", "phone:+14155550134", "phone:+442079460018"}
    assert dropped == []


def test_a_group_calls_traits_are_the_accounts_not_identifiers_of_the_sender(r):
    msg = {"type": "group", "userId": "u1", "traits": {"email": "billing@acme.io", "phone": "4155550199"},
           "context": {"traits": {"email": "u1@acme.io"}}}
    found, _ = extract_identifiers(r, msg)
    assert {i.key for i in found} == {"user_id:u1", "email:u1@acme.io"}  # context.traits are still the user's
    found, _ = extract_identifiers(r, {**msg, "type": "identify"})
    assert "email:billing@acme.io" in {i.key for i in found}


def test_extract_reports_dropped_fields(r):
    found, dropped = extract_identifiers(r, {"userId": "undefined", "anonymousId": "a1", "traits": {"email": "x"}})
    assert [i.key for i in found] == ["anonymous_id:a1"]
    assert {d.field for d in dropped} == {"userId", "traits.email"}


def test_ordered_is_strongest_first_and_distinct(r):
    from app.identity.rules import Identifier
    ids = [Identifier("anonymous_id", "a"), Identifier("email", "e@x.io"), Identifier("user_id", "u"),
           Identifier("email", "e@x.io"), Identifier("phone", "+14155550134")]
    assert [i.type for i in r.ordered(ids)] == ["user_id", "email", "phone", "anonymous_id"]


def test_extract_skips_holders_that_are_not_objects_and_names_nested_drops(r):
    msg = {"userId": "u1", "traits": "a string", "context": {"traits": ["x"]},
           "properties": {"email": "not-an-email", "phone": None}}
    found, dropped = extract_identifiers(r, msg)
    assert [i.key for i in found] == ["user_id:u1"]
    assert [d.field for d in dropped] == ["properties.email"]
    found, dropped = extract_identifiers(r, {"anonymousId": "a1", "context": {"traits": {"email": "test@test.com"}}})
    assert [d.field for d in dropped] == ["context.traits.email"]


def test_identifier_key_is_type_and_value_and_not_part_of_equality():
    from app.identity.rules import Identifier
    a = Identifier("email", "e@x.io")
    assert a.key == "email:e@x.io"
    assert a == Identifier("email", "e@x.io") and hash(a) == hash(Identifier("email", "e@x.io"))
    assert a != Identifier("user_id", "e@x.io")
    with pytest.raises(AttributeError):
        a.key = "email:other@x.io"  # frozen, like its type and value
