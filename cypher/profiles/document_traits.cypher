// Per profile id: the events that can set traits: identify events (traits) and any event whose
// context carries traits (context is compact JSON, so the key appears as "traits":).
// Newest-wins is applied in Python.
UNWIND $ids AS id
MATCH (:Profile {id: id})<-[:BELONGS_TO]-(:Identifier)<-[:SEEN_AS]-(e:Event)
WITH id, e, e.context CONTAINS '"traits":' AS hasContextTraits
WHERE e.type = 'identify' OR hasContextTraits
RETURN id, CASE WHEN e.type = 'identify' THEN e.traits END AS traits,
       CASE WHEN hasContextTraits THEN e.context END AS context,
       e.ts AS ts, e.timestamp AS timestamp, e.receivedAt AS receivedAt, e.messageId AS messageId,
       e.source AS source
