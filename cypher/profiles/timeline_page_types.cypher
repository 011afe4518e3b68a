// timeline_page for a set of types: one (identifier, type, ts) index seek per identifier and type,
// read backwards and limited, so a rare type costs what a common one does.
MATCH (:Profile {id: $id})<-[:BELONGS_TO]-(i:Identifier)
UNWIND $types AS t
WITH i.key AS k, t
CALL (k, t) {
  MATCH (e:Event)
  WHERE e.identifier = k AND e.type = t AND e.ts >= $since AND e.ts <= $before
    AND ($afterId IS NULL OR e.ts < $before OR e.messageId < $afterId)
    AND ($source IS NULL OR e.source = $source)
  RETURN e
  ORDER BY e.identifier DESC, e.type DESC, e.ts DESC, e.messageId DESC
  LIMIT $limit
}
RETURN properties(e) AS event
ORDER BY e.ts DESC, e.messageId DESC
LIMIT $limit
