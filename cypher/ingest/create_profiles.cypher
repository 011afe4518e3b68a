// New profiles, each with the identifiers assigned to it in this batch.
UNWIND $batch.profiles AS row
CREATE (p:Profile {id: row.id, createdAt: row.createdAt, firstSeen: row.createdAt, lastSeen: row.createdAt, version: 0})
WITH p, row
UNWIND row.keys AS key
MATCH (i:Identifier {key: key})
CREATE (i)-[:BELONGS_TO]->(p)
