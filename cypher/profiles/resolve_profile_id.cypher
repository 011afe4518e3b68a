// A profile id, live or retired: follow MERGED_INTO to the live survivor.
MATCH (p:Profile {id: $id})
OPTIONAL MATCH (p)-[:MERGED_INTO*1..]->(s:Profile) WHERE s.retiredAt IS NULL
RETURN coalesce(s.id, p.id) AS id, p.retiredAt IS NOT NULL AND s IS NULL AS dangling
