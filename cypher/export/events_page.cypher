// One page of the event export, oldest first, ordered by (ts, messageId): a total order, so the
// cursor (the last row's pair) resumes exactly after it, however many events share a millisecond.
// The ts range seeks the event_ts index in its own order (PartialTop orders the ties by messageId).
// $from is the window's start or the cursor's ts, $afterId the cursor's messageId (null: none);
// $until is exclusive, so back-to-back windows never export an event twice.
// One record for the page: the driver's cost per record was most of a page's time. The matches
// after the ORDER BY need not keep its order, so the caller sorts the page again.
MATCH (e:Event)
WHERE e.ts >= $from AND e.ts < $until
  AND ($afterId IS NULL OR e.ts > $from OR e.messageId > $afterId)
  AND ($source IS NULL OR e.source = $source)
  AND ($types IS NULL OR e.type IN $types)
WITH e ORDER BY e.ts, e.messageId LIMIT $limit
// Optional: an event whose identifier an erasure has just deleted must not shorten the page (a page
// shorter than asked ends the export).
OPTIONAL MATCH (e)-[:SEEN_AS]->(i:Identifier)
OPTIONAL MATCH (i)-[:BELONGS_TO]->(p:Profile)
RETURN collect({event: properties(e), profileId: p.id}) AS rows
