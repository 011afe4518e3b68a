// The events that can set traits: identify events (traits) and any event whose context carries
// traits (context is compact JSON, so the key appears as "traits":). Newest-wins is applied in Python.
MATCH (:Profile {id: $id})<-[:BELONGS_TO]-(i:Identifier)
MATCH (e:Event) WHERE e.identifier = i.key AND (e.type = 'identify' OR e.context CONTAINS '"traits":')
RETURN CASE WHEN e.type = 'identify' THEN e.traits END AS traits,
       CASE WHEN e.context CONTAINS '"traits":' THEN e.context END AS context,
       e.ts AS ts, e.timestamp AS timestamp, e.receivedAt AS receivedAt, e.messageId AS messageId,
       e.source AS source
