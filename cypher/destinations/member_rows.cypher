// What a mapping reads for each profile: traits, identifiers (newest first), profile fields, and
// whether it is a member now. A merged-away profile is read as its live survivor.
UNWIND $ids AS requested
MATCH (first:Profile {id: requested})
OPTIONAL MATCH (first)-[:MERGED_INTO*1..]->(survivor:Profile)
WHERE survivor.retiredAt IS NULL
WITH requested, coalesce(survivor, first) AS p
CALL (p) {
  OPTIONAL MATCH (i:Identifier)-[:BELONGS_TO]->(p)
  WITH i ORDER BY i.lastSeen DESC
  RETURN collect(CASE WHEN i IS NOT NULL THEN [i.type, i.value] END) AS identifiers
}
RETURN requested, p.id AS id, p.firstSeen AS firstSeen, p.lastSeen AS lastSeen, p.eventCount AS eventCount,
       [k IN keys(p) WHERE k STARTS WITH 't.' | [substring(k, 2), p[k]]] AS traits, identifiers,
       EXISTS { (p)-[:IN_SEGMENT]->(:Segment {id: $segment}) } AS member
