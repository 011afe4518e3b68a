// One page of a profile's timeline, newest first, ordered by (ts, messageId) descending.
// Per identifier: an (identifier, ts) index seek read backwards from $before, so each subquery
// stops after $limit rows (ties on ts are sorted by messageId); the merge re-sorts at most
// identifiers x $limit rows. $afterId (the cursor's messageId) skips the ties already served.
MATCH (:Profile {id: $id})<-[:BELONGS_TO]-(i:Identifier)
WITH i.key AS k
CALL (k) {
  MATCH (e:Event)
  WHERE e.identifier = k AND e.ts >= $since AND e.ts <= $before
    AND ($afterId IS NULL OR e.ts < $before OR e.messageId < $afterId)
    AND ($types IS NULL OR e.type IN $types)
    AND ($event IS NULL OR e.event = $event)
    AND ($source IS NULL OR e.source = $source)
  RETURN e
  ORDER BY e.ts DESC, e.messageId DESC
  LIMIT $limit
}
RETURN properties(e) AS event
ORDER BY e.ts DESC, e.messageId DESC
LIMIT $limit
