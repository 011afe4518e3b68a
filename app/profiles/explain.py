"""Why two identifiers share a profile: the shortest chain of SEEN_WITH evidence between them,
each step naming the message that first joined the pair."""
from __future__ import annotations

import networkx as nx
from neo4j import Driver

from app.db import query
from app.errors import NotFound
from app.identity.rules import IdentityRules
from app.ingest.messages import FieldError
from app.ingest.timestamps import iso_ms
from app.profiles.graph import read_evidence, read_identifiers
from app.profiles.resolve import parse_ref


def identifier_key(rules: IdentityRules, name: str, ref: str) -> str:
    """An external id (`email:Ann@x.io`) normalised as at ingest; FieldError naming `name` otherwise."""
    try:
        kind, value = parse_ref(rules, ref)
    except FieldError as exc:
        raise FieldError(name, exc.reason) from None
    if kind != "identifier":
        raise FieldError(name, "expected an identifier type:value, not a profile id")
    return value


def after_splits(evidence: list[dict], splits: list[tuple[int, set[str]]]) -> list[dict]:
    """Evidence as it stands after splits (time, identifiers moved off) of this profile or one merged
    into it: a split overrules what joined a pair across it up to its time, so a pair re-joined since
    is explained by its latest message (one after the split), and a pair with nothing since explains
    nothing."""
    out = []
    for e in evidence:
        at = max((t for t, moved in splits if (e["a"] in moved) != (e["b"] in moved)), default=None)
        if at is None or e["firstAt"] > at:
            out.append(e)
        elif e["lastAt"] > at:
            out.append({**e, "firstAt": e["lastAt"], "firstMessageId": e["lastMessageId"], "splitAt": at})
    return out


def evidence_graph(evidence: list[dict]) -> nx.Graph:
    # Undirected: evidence is stored in key order, not in the order the message named the ids.
    g = nx.Graph()
    for e in evidence:
        g.add_edge(e["a"], e["b"], **e)
    return g


def _step(g: nx.Graph, frm: str, to: str) -> dict:
    e = g.edges[frm, to]
    step = {"from": frm, "to": to, "messageId": e["firstMessageId"], "at": iso_ms(e["firstAt"]),
            "source": e["source"], "count": e["count"], "lastMessageId": e["lastMessageId"],
            "lastAt": iso_ms(e["lastAt"])}
    if e.get("splitAt") is not None:  # re-joined after a split: the message is the latest, not the first
        step["afterSplitAt"] = iso_ms(e["splitAt"])
    return step


def explain(driver: Driver, database: str, rules: IdentityRules, profile_id: str, a: str, b: str) -> dict:
    """{profileId, a, b, path, reason}: path is the list of steps from a to b, or None with a reason
    when both are on the profile but no evidence connects them (answered with 200, not an error:
    the question was valid, the graph just holds no chain)."""
    key_a, key_b = identifier_key(rules, "a", a), identifier_key(rules, "b", b)
    def read(tx):
        splits = [(r["at"], set(r["identifiers"])) for r in tx.run(query("profiles/history_splits"), id=profile_id)]
        return {i["key"] for i in read_identifiers(tx, profile_id)}, after_splits(read_evidence(tx, profile_id), splits)

    with driver.session(database=database, default_access_mode="READ") as session:
        keys, evidence = session.execute_read(read)
    for name, key in (("a", key_a), ("b", key_b)):
        if key not in keys:
            raise NotFound(name, f"{key!r} is not an identifier of profile {profile_id}")
    answer = {"profileId": profile_id, "a": key_a, "b": key_b, "path": None, "reason": None}
    if key_a == key_b:
        return {**answer, "path": [], "reason": "a and b are the same identifier"}
    g = evidence_graph(evidence)
    try:
        nodes = nx.shortest_path(g, key_a, key_b)
    except (nx.NetworkXNoPath, nx.NodeNotFound):
        reason = f"{key_a} and {key_b} share profile {profile_id} but no recorded evidence connects them"
        return {**answer, "reason": reason}
    return {**answer, "path": [_step(g, x, y) for x, y in zip(nodes, nodes[1:], strict=False)]}
