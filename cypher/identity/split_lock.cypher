// Lock the profile and read its identifiers (the split is planned against this state).
MATCH (p:Profile {id: $profile})
SET p.version = coalesce(p.version, 0) + 1
WITH p
MATCH (i:Identifier)-[:BELONGS_TO]->(p)
RETURN i.key AS key, i.type AS type
