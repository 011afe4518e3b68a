// Per profile id, as one list: the events that can set traits: identify events (traits) and any
// event whose context carries traits (context is compact JSON, so the key appears as "traits":).
// Newest-wins is applied in Python.
UNWIND $ids AS id
CALL (id) {
  MATCH (:Profile {id: id})<-[:BELONGS_TO]-(:Identifier)<-[:SEEN_AS]-(e:Event)
  WITH e, e.context CONTAINS '"traits":' AS hasContextTraits
  WHERE e.type = 'identify' OR hasContextTraits
  RETURN collect({traits: CASE WHEN e.type = 'identify' THEN e.traits END,
                  context: CASE WHEN hasContextTraits THEN e.context END,
                  ts: e.ts, timestamp: e.timestamp, receivedAt: e.receivedAt, messageId: e.messageId,
                  source: e.source}) AS traits
}
RETURN id, traits
