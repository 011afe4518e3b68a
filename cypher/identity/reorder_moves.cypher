// Identifiers a component's resolution in event-time order put on another profile: their events
// follow them; the move is recorded against the late message that caused it.
UNWIND $moves AS m
MATCH (i:Identifier {key: m.key})-[r:BELONGS_TO]->(old:Profile {id: m.from})
MATCH (new:Profile {id: m.to})
DELETE r
CREATE (i)-[:BELONGS_TO]->(new)
CREATE (i)-[:MOVED_FROM {at: $at, messageId: $messageId, source: $source, reason: 'event-order', to: m.to}]->(old)
