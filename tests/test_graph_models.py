"""Every label and relationship type in cypher/ is declared in graph_models, and every declared
unique key exists in the live schema."""
import re

from app.db import CYPHER_DIR
from graph_models.schema import NODE_LABELS, RELATIONSHIP_TYPES, UNIQUE_KEYS

_LABEL = re.compile(r"\(\s*\w*\s*:\s*([A-Z]\w*)")
_REL = re.compile(r"\[\s*\w*\s*:\s*([A-Z_|]+)")


def _cypher_texts():
    for path in sorted(CYPHER_DIR.rglob("*.cypher")):
        text = "\n".join(line for line in path.read_text().splitlines() if not line.strip().startswith("//"))
        yield path.relative_to(CYPHER_DIR), text


def test_cypher_uses_only_declared_labels_and_relationship_types():
    unknown, labels, rels = [], set(), set()
    for path, text in _cypher_texts():
        labels |= set(_LABEL.findall(text))
        for group in _REL.findall(text):
            rels |= {r for r in group.split("|") if r}
        unknown += [(str(path), name) for name in labels - set(NODE_LABELS)]
        unknown += [(str(path), name) for name in rels - set(RELATIONSHIP_TYPES)]
    assert unknown == []
    # and nothing declared that no query uses: the declaration stays the picture of the graph
    assert labels == set(NODE_LABELS) and rels == set(RELATIONSHIP_TYPES)


def test_declared_unique_keys_are_constraints_in_the_database(driver):
    records, _, _ = driver.execute_query(
        "SHOW CONSTRAINTS YIELD labelsOrTypes, properties, type WHERE type = 'UNIQUENESS' "
        "RETURN labelsOrTypes[0] AS label, properties")
    live = {(r["label"], tuple(r["properties"])) for r in records}
    assert {(label, keys) for label, keys in UNIQUE_KEYS.items()} <= live
