// Write-lock a component's identifiers in key order (as ingest's snapshot takes them: no deadlock
// between the two), and name their profiles, which the caller locks next.
UNWIND $keys AS key
MATCH (i:Identifier {key: key})
SET i._lock = true
REMOVE i._lock
WITH i
MATCH (i)-[:BELONGS_TO]->(p:Profile)
RETURN collect(DISTINCT p.id) AS profiles
