// Per profile id: the profile node, its identifiers, every profile ever merged into it (directly
// or not), and the segments it is a member of now. One id for a profile read, a page for an export.
UNWIND $ids AS id
MATCH (p:Profile {id: id})
OPTIONAL MATCH (i:Identifier)-[:BELONGS_TO]->(p)
WITH p, collect(i {.type, .value, .firstSeen, .lastSeen}) AS identifiers
RETURN p {.id, .createdAt, .firstSeen, .lastSeen, .retiredAt} AS profile, identifiers,
       [(r:Profile)-[:MERGED_INTO*1..]->(p) | r.id] AS mergedFrom,
       [(p)-[m:IN_SEGMENT]->(s:Segment) | {id: s.id, name: s.name, since: m.since}] AS segments
