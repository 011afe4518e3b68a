// MERGE every identifier of the batch (sorted by key, to keep lock order stable) and take its
// write lock by setting lastSeen, then read its live profile. Held until commit, the lock keeps
// any other writer from moving this identifier while we plan.
UNWIND $identifiers AS row
MERGE (i:Identifier {key: row.key})
  ON CREATE SET i.type = row.type, i.value = row.value, i.firstSeen = row.firstSeen
SET i.lastSeen = CASE WHEN i.lastSeen IS NULL OR row.lastSeen > i.lastSeen THEN row.lastSeen ELSE i.lastSeen END,
    i.firstSeen = CASE WHEN row.firstSeen < i.firstSeen THEN row.firstSeen ELSE i.firstSeen END
WITH i
OPTIONAL MATCH (i)-[:BELONGS_TO]->(p:Profile)
RETURN i.key AS key, p.id AS profile
