// One page of a profile's timeline, newest first, ordered by (ts, messageId) descending.
// Per identifier: an (identifier, ts) index seek read backwards from $before; each subquery stops
// after $limit rows, and the merge re-sorts at most identifiers x $limit rows. $afterId (the
// cursor's messageId) skips the ties on $before already served. Event-name and type filters have
// their own queries (timeline_page_event, timeline_page_types) on their own indexes.
// ORDER BY names e.identifier (constant here) so the planner sees the index's own order and reads
// it backwards (PartialTop on messageId for ties); ordered by ts alone it sorts every event.
MATCH (:Profile {id: $id})<-[:BELONGS_TO]-(i:Identifier)
WITH i.key AS k
CALL (k) {
  MATCH (e:Event)
  WHERE e.identifier = k AND e.ts >= $since AND e.ts <= $before
    AND ($afterId IS NULL OR e.ts < $before OR e.messageId < $afterId)
    AND ($source IS NULL OR e.source = $source)
  RETURN e
  ORDER BY e.identifier DESC, e.ts DESC, e.messageId DESC
  LIMIT $limit
}
RETURN properties(e) AS event
ORDER BY e.ts DESC, e.messageId DESC
LIMIT $limit
