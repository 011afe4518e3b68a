// Whether any of these profiles is a member of a segment some sync sends: only then does an
// erasure have a destination to remove the person from.
MATCH (p:Profile)-[:IN_SEGMENT]->(s:Segment)
WHERE p.id IN $ids AND EXISTS { MATCH (:Sync {segmentId: s.id}) }
RETURN count(p) > 0 AS synced
