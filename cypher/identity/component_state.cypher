// A locked component: each identifier, its profile (and the profile's event count), whether a
// manual split touched either, and the evidence and refusal edges that start at it (each edge once).
UNWIND $keys AS key
MATCH (i:Identifier {key: key})-[:BELONGS_TO]->(p:Profile)
RETURN i.key AS key, i.type AS type, i.firstSeen AS firstSeen, p.id AS profile, p.createdAt AS createdAt,
       p.eventCount AS events,
       coalesce(p.splitBlocks, false) OR EXISTS { (i)-[:SPLIT_APART]-(:Identifier) } AS split,
       [(i)-[r:SEEN_WITH|REFUSED_WITH]->(o:Identifier) | {kind: type(r), to: o.key}] AS edges
