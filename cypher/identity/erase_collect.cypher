// Everything an erasure removes: the live profile, the retired profiles merged into it, its
// identifiers (newest first: a destination addresses the person by the newest of each type).
MATCH (p:Profile {id: $profile})
OPTIONAL MATCH (r:Profile)-[:MERGED_INTO*1..]->(p)
WITH p, collect(DISTINCT r.id) AS retired
OPTIONAL MATCH (i:Identifier)-[:BELONGS_TO]->(p)
WITH p, retired, i ORDER BY i.lastSeen DESC
RETURN p.id AS id, retired, collect(i.key) AS keys
