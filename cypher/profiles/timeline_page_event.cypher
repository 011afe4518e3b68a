// timeline_page for one event name: the same page, read from the (identifier, event, ts) index so
// a rare name costs what a common one does. ORDER BY names the index's leading keys, as there.
MATCH (:Profile {id: $id})<-[:BELONGS_TO]-(i:Identifier)
WITH i.key AS k
CALL (k) {
  MATCH (e:Event)
  WHERE e.identifier = k AND e.event = $event AND e.ts >= $since AND e.ts <= $before
    AND ($afterId IS NULL OR e.ts < $before OR e.messageId < $afterId)
    AND ($types IS NULL OR e.type IN $types)
    AND ($source IS NULL OR e.source = $source)
  RETURN e
  ORDER BY e.identifier DESC, e.event DESC, e.ts DESC, e.messageId DESC
  LIMIT $limit
}
RETURN properties(e) AS event
ORDER BY e.ts DESC, e.messageId DESC
LIMIT $limit
