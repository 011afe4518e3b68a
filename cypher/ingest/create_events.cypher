// MERGE on the unique messageId: a concurrent writer of the same message waits, then matches,
// and only the creator links the event to its identifier.
UNWIND $events AS ev
MATCH (i:Identifier {key: ev.anchor})
MERGE (e:Event {messageId: ev.props.messageId})
  ON CREATE SET e += ev.props, e.ingestId = $ingestId
WITH e, i, ev
WHERE e.ingestId = $ingestId
CREATE (e)-[:SEEN_AS]->(i)
RETURN count(e) AS created
