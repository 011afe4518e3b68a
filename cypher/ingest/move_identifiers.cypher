// An identifier claimed off another profile: drop its old edge and keep a record of the move;
// assign_identifiers then links it to its new profile (its events follow it).
UNWIND $batch.moves AS m
MATCH (i:Identifier {key: m.key})-[r:BELONGS_TO]->(old:Profile {id: m.from})
DELETE r
CREATE (i)-[:MOVED_FROM {at: m.ts, messageId: m.messageId, source: m.source, reason: m.reason, to: m.to}]->(old)
