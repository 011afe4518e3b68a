"""A profile's identity graph: its identifiers, the profiles merged into it, the evidence that
joined the identifiers and the joins the rules refused, as a UI graph or as GraphML."""
from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
from neo4j import Driver, ManagedTransaction

from app.db import query
from app.errors import NotFound
from app.ingest.timestamps import iso_ms


@dataclass
class ProfileGraph:
    profile: dict
    identifiers: list[dict]
    evidence: list[dict]
    merges: list[dict] = field(default_factory=list)
    refusals: list[dict] = field(default_factory=list)


def read_identifiers(tx: ManagedTransaction, profile_id: str) -> list[dict]:
    return [r.data() for r in tx.run(query("profiles/graph_identifiers"), id=profile_id)]


def read_evidence(tx: ManagedTransaction, profile_id: str) -> list[dict]:
    return [r.data() for r in tx.run(query("profiles/graph_evidence"), id=profile_id)]


def read_merges(tx: ManagedTransaction, profile_id: str) -> list[dict]:
    """Profiles merged into this one, recursively, newest merge first."""
    return [r.data() for r in tx.run(query("profiles/graph_merges"), id=profile_id)]


def read_refusals(tx: ManagedTransaction, profile_id: str) -> list[dict]:
    """Refused joins touching the profile's identifiers, newest first."""
    return [r.data() for r in tx.run(query("profiles/graph_refusals"), id=profile_id)]


def read_profile(tx: ManagedTransaction, profile_id: str) -> dict | None:
    record = tx.run(query("profiles/graph_profile"), id=profile_id).single()
    return None if record is None else record.data()


def _read(tx: ManagedTransaction, profile_id: str) -> ProfileGraph | None:
    profile = read_profile(tx, profile_id)
    if profile is None:
        return None
    return ProfileGraph(profile, read_identifiers(tx, profile_id), read_evidence(tx, profile_id),
                        read_merges(tx, profile_id), read_refusals(tx, profile_id))


def load_graph(driver: Driver, database: str, profile_id: str) -> ProfileGraph:
    """One read transaction, so the parts agree with each other."""
    with driver.session(database=database, default_access_mode="READ") as session:
        graph = session.execute_read(_read, profile_id)
    if graph is None:
        raise NotFound("ref", f"no profile {profile_id!r}")
    return graph


def _profile_node(pid: str, p: dict) -> dict:
    return {"id": pid, "label": "profile " + pid[:8], "kind": "profile",
            "retired": p.get("retiredAt") is not None, "createdAt": iso_ms(p.get("createdAt")),
            "firstSeen": iso_ms(p.get("firstSeen")), "lastSeen": iso_ms(p.get("lastSeen")),
            "retiredAt": iso_ms(p.get("retiredAt"))}


def _identifier_node(key: str, profile_id: str | None, outside: bool, row: dict | None = None) -> dict:
    id_type, _, value = key.partition(":")
    row = row or {}
    return {"id": key, "label": value, "kind": "identifier", "type": id_type, "value": value,
            "profileId": profile_id, "outside": outside,
            "firstSeen": iso_ms(row.get("firstSeen")), "lastSeen": iso_ms(row.get("lastSeen"))}


def to_elements(graph: ProfileGraph) -> dict:
    """{profileId, nodes, edges} in the cytoscape manner: node {id, label, kind, ...}, edge {id, source,
    target, kind, ...}. Identifiers of other profiles appear (outside: true) only as the far end of a
    refused join."""
    pid = graph.profile["id"]
    nodes = [_profile_node(pid, graph.profile)]
    # A profile merged, split off and merged again has two merge edges but is one node.
    nodes += list({m["profileId"]: _profile_node(m["profileId"], m) for m in graph.merges}.values())
    nodes += [_identifier_node(i["key"], pid, False, i) for i in graph.identifiers]
    edges = [{"id": f"belongs_to:{i['key']}", "source": i["key"], "target": pid, "kind": "belongs_to"}
             for i in graph.identifiers]
    edges += [{"id": f"seen_with:{e['a']}|{e['b']}", "source": e["a"], "target": e["b"], "kind": "seen_with",
               "label": f"seen together x{e['count']}", "count": e["count"], "messageSource": e["source"],
               "firstAt": iso_ms(e["firstAt"]), "firstMessageId": e["firstMessageId"],
               "lastAt": iso_ms(e["lastAt"]), "lastMessageId": e["lastMessageId"]} for e in graph.evidence]
    edges += [{"id": f"merged_into:{m['profileId']}|{m['into']}|{m['messageId']}", "source": m["profileId"],
               "target": m["into"], "kind": "merged_into", "label": f"merged ({m['reason']})",
               "at": iso_ms(m["at"]), "messageId": m["messageId"], "messageSource": m["source"],
               "reason": m["reason"]}
              for m in graph.merges]
    known = {n["id"] for n in nodes}
    for r in graph.refusals:
        for key, owner in ((r["a"], r["aProfileId"]), (r["b"], r["bProfileId"])):
            if key not in known:
                known.add(key)
                nodes.append(_identifier_node(key, owner, True))
        edges.append({"id": f"refused_with:{r['a']}|{r['b']}", "source": r["a"], "target": r["b"],
                      "kind": "refused_with", "label": f"refused: {r['reason']}", "reason": r["reason"],
                      "count": r["count"], "messageSource": r["source"], "firstAt": iso_ms(r["firstAt"]),
                      "firstMessageId": r["firstMessageId"], "lastAt": iso_ms(r["lastAt"])})
    return {"profileId": pid, "nodes": nodes, "edges": edges}


def _scalars(attrs: dict) -> dict:
    # GraphML holds typed scalars only; a missing value is left out rather than written as "None".
    return {k: v for k, v in attrs.items() if v is not None and k != "id"}


def to_networkx(elements: dict) -> nx.MultiDiGraph:
    g = nx.MultiDiGraph(profileId=elements["profileId"])
    for n in elements["nodes"]:
        g.add_node(n["id"], **_scalars(n))
    for e in elements["edges"]:
        attrs = _scalars(e)
        g.add_edge(attrs.pop("source"), attrs.pop("target"), key=e["id"], **attrs)
    return g


def to_graphml(elements: dict) -> str:
    return "\n".join(nx.generate_graphml(to_networkx(elements))) + "\n"


def profile_graph(driver: Driver, database: str, profile_id: str) -> dict:
    return to_elements(load_graph(driver, database, profile_id))
