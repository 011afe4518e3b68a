"""The SQL-like text form of a filter tree: parse (with positioned errors) and print.

    traits.plan = 'pro' AND performed('Upgraded Plan') >= 1 WITHIN 30 DAYS
      AND NOT performed('App Opened') WITHIN 7 DAYS

Precedence NOT > AND > OR; strings in single quotes ('' escapes one); keywords in any case.
app.segments.printer prints a tree back; parse_text(print_text(tree)) == tree.
"""
from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from app.ingest.messages import FieldError
from app.segments.models import (And, Count, EventCondition, Filter, IdentifierCondition, Not, Or,
                                 ProfileCondition, PropertyCondition, SegmentCondition, TraitCondition,
                                 Window)


class FilterSyntaxError(FieldError):
    """A parse error: where (0-based character offset) and what was expected there."""

    def __init__(self, text: str, position: int, expected: str, field: str = "text"):
        rest = text[position:position + 12]
        found = f"{rest!r}" if rest else "the end of the text"
        super().__init__(field, f"at position {position}: expected {expected}, found {found}")
        self.position = position
        self.expected = expected


_WS = re.compile(r"\s*")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SEGMENT = re.compile(r"[A-Za-z0-9_$@\-]+")
_NUMBER = re.compile(r"-?[0-9]+(?:(\.[0-9]+)?([eE][+-]?[0-9]+)?)")
_COMPARE = [("<>", "neq"), ("!=", "neq"), (">=", "gte"), ("<=", "lte"), ("=", "eq"), (">", "gt"), ("<", "lt")]
_PREDICATES = ("an operator (=, !=, <, <=, >, >=, IN, NOT IN, CONTAINS, STARTS WITH, ENDS WITH, EXISTS, "
               "NOT EXISTS, BETWEEN, WITHIN LAST)")
_PROFILE_FIELDS = ("firstSeen", "lastSeen", "sources", "eventCount")
_ID_KINDS = ("user_id", "anonymous_id", "email", "phone", "email_domain")
_CONDITION = "a condition (traits.…, profile.…, identifiers.…, performed(…), in_segment(…)), NOT or '('"


class _Parser:
    def __init__(self, text: str, field: str):
        self.text, self.pos, self.field = text, 0, field

    def fail(self, expected: str, at: int | None = None):
        if at is None:
            self.skip()  # point at the offending token, not the blank before it
            at = self.pos
        raise FilterSyntaxError(self.text, at, expected, self.field)

    def skip(self) -> None:
        self.pos = _WS.match(self.text, self.pos).end()

    def peek_word(self) -> str | None:
        self.skip()
        m = _WORD.match(self.text, self.pos)
        return m.group().lower() if m else None

    def keyword(self, *words: str) -> bool:
        """Consume the keyword sequence if it is next (case-insensitive, whole words)."""
        start = self.pos
        for word in words:
            if self.peek_word() != word:
                self.pos = start
                return False
            self.pos += len(word)
        return True

    def expect(self, *words: str) -> None:
        if not self.keyword(*words):
            self.fail(" ".join(w.upper() for w in words))

    def symbol(self, s: str) -> bool:
        self.skip()
        if self.text.startswith(s, self.pos):
            self.pos += len(s)
            return True
        return False

    def expect_symbol(self, s: str) -> None:
        if not self.symbol(s):
            self.fail(f"'{s}'")

    def string(self, what: str = "a 'quoted string'") -> str:
        self.skip()
        if not self.text.startswith("'", self.pos):
            self.fail(what)
        out, i = [], self.pos + 1
        while True:
            j = self.text.find("'", i)
            if j < 0:
                self.fail("a closing quote", len(self.text))
            out.append(self.text[i:j])
            if self.text.startswith("''", j):
                out.append("'")
                i = j + 2
            else:
                self.pos = j + 1
                return "".join(out)

    def integer(self, what: str) -> int:
        self.skip()
        m = re.compile(r"[0-9]+").match(self.text, self.pos)
        if not m:
            self.fail(what)
        self.pos = m.end()
        return int(m.group())

    def value(self) -> Any:
        self.skip()
        if self.text.startswith("'", self.pos):
            return self.string()
        m = _NUMBER.match(self.text, self.pos)
        if m:
            self.pos = m.end()
            return float(m.group()) if m.group(1) or m.group(2) else int(m.group())
        for word, val in (("true", True), ("false", False)):
            if self.keyword(word):
                return val
        self.fail("a value (a 'string', a number, true or false)")

    def build(self, model, start: int, **fields):
        """A tree node; out-of-range parts (an empty name, 10**9 times) are errors at `start`."""
        try:
            return model(**fields)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            self.fail(f"a valid {where or 'condition'} ({err['msg']})", start)

    # --- grammar ---
    def parse(self) -> Filter:
        tree = self.expr()
        self.skip()
        if self.pos != len(self.text):
            self.fail("AND, OR or the end of the text")
        return tree

    def expr(self) -> Filter:
        parts = [self.conjunction()]
        while self.keyword("or"):
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else Or(filters=parts)

    def conjunction(self) -> Filter:
        parts = [self.unary()]
        while self.keyword("and"):
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else And(filters=parts)

    def unary(self) -> Filter:
        if self.keyword("not"):
            return Not(filter=self.unary())
        if self.symbol("("):
            inner = self.expr()
            self.expect_symbol(")")
            return inner
        word = self.peek_word()
        if word == "performed":
            return self.performed()
        if word == "in_segment":
            start = self.pos
            self.pos += len(word)
            self.expect_symbol("(")
            segment_id = self.string("a segment id in quotes")
            self.expect_symbol(")")
            return self.build(SegmentCondition, start, segment_id=segment_id)
        return self.field_condition()

    def path(self, prefix: str) -> str:
        """`<prefix>.a.b` or `<prefix>['any name']`; the prefix is already consumed."""
        if self.symbol("["):
            name = self.string("a quoted name")
            self.expect_symbol("]")
            return name
        if not self.text.startswith(".", self.pos):
            self.fail(f"'.' or '[' after {prefix}")
        self.pos += 1
        segments = []
        while True:
            m = _SEGMENT.match(self.text, self.pos)
            if not m:
                self.fail("a name (letters, digits, _ $ @ -)")
            segments.append(m.group())
            self.pos = m.end()
            if not (self.text.startswith(".", self.pos) and _SEGMENT.match(self.text, self.pos + 1)):
                return ".".join(segments)
            self.pos += 1

    def member(self, prefix: str, allowed: tuple[str, ...]) -> str:
        self.expect_symbol(".")
        start = self.pos
        m = _WORD.match(self.text, self.pos)
        if not m or m.group() not in allowed:
            self.fail("one of " + ", ".join(allowed), start)
        self.pos = m.end()
        return m.group()

    def field_condition(self):
        start = self.pos
        word = self.peek_word()
        if word == "traits":
            self.pos += len(word)
            name = self.path("traits")
            return self.build(TraitCondition, start, name=name, **self.predicate())
        if word == "profile":
            self.pos += len(word)
            field = self.member("profile", _PROFILE_FIELDS)
            return self.build(ProfileCondition, start, field=field, **self.predicate())
        if word == "identifiers":
            self.pos += len(word)
            kind = self.member("identifiers", _ID_KINDS)
            return self.build(IdentifierCondition, start, kind=kind, **self.predicate())
        self.fail(_CONDITION, start)

    def predicate(self) -> dict:
        for sym, op in _COMPARE:
            if self.symbol(sym):
                return {"op": op, "value": self.value()}
        negated = self.keyword("not", "in")
        if negated or self.keyword("in"):
            op = "not_in" if negated else "in"
            self.expect_symbol("(")
            items = [self.value()]
            while self.symbol(","):
                items.append(self.value())
            self.expect_symbol(")")
            return {"op": op, "value": items}
        if self.keyword("not", "exists"):
            return {"op": "not_exists"}
        if self.keyword("exists"):
            return {"op": "exists"}
        for words, op in ((("contains",), "contains"), (("starts", "with"), "starts_with"),
                          (("ends", "with"), "ends_with")):
            if self.keyword(*words):
                return {"op": op, "value": self.value()}
        if self.keyword("between"):
            low = self.value()
            self.expect("and")
            return {"op": "between", "value": [low, self.value()]}
        if self.keyword("within"):
            self.expect("last")
            return {"op": "within_last", "value": self.days()}
        self.fail(_PREDICATES)

    def days(self) -> int:
        n = self.integer("a number of days")
        if not (self.keyword("days") or self.keyword("day")):
            self.fail("DAYS")
        return n

    def performed(self) -> EventCondition:
        start = self.pos
        self.pos += len("performed")
        self.expect_symbol("(")
        name = self.string("an event name in quotes")
        where = []
        if self.keyword("where"):
            while True:
                if self.peek_word() != "properties":
                    self.fail("properties.… (an event property)")
                at = self.pos
                self.pos += len("properties")
                prop = self.path("properties")
                where.append(self.build(PropertyCondition, at, name=prop, **self.predicate()))
                if not self.keyword("and"):
                    break
        self.expect_symbol(")")
        count = Count()
        for sym, op in _COMPARE:
            if sym != "<>" and sym != "!=" and self.symbol(sym):
                self.skip()
                at = self.pos
                count = self.build(Count, at, op=op, value=self.integer("a whole number of times"))
                break
        window = None
        if self.keyword("within"):
            self.keyword("last")
            self.skip()
            at = self.pos
            window = self.build(Window, at, days=self.days())
        elif self.keyword("between"):
            first = self.string("a start date in quotes")
            self.expect("and")
            window = Window(start=first, end=self.string("an end date in quotes"))
        return self.build(EventCondition, start, name=name, where=where, count=count, window=window)


def parse_text(text: str, field: str = "text") -> Filter:
    return _Parser(text, field).parse()
