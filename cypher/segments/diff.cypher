// Read-only: the profiles whose membership is wrong now (matching non-members, and members that
// no longer match or were retired). segments/apply then fixes them in small transactions.
MATCH (s:Segment {id: $segment})
CALL (s) {
  MATCH (p:Profile)
  WHERE p.retiredAt IS NULL AND NOT EXISTS { (p)-[:IN_SEGMENT]->(s) } AND /*filter*/ true
  RETURN p.id AS id
  UNION
  MATCH (s)<-[:IN_SEGMENT]-(p:Profile)
  WHERE NOT (p.retiredAt IS NULL AND /*filter*/ true)
  RETURN p.id AS id
}
RETURN id
