// Live profiles and the identifier keys each holds.
MATCH (i:Identifier)-[:BELONGS_TO]->(p:Profile)
RETURN p.id AS profile, collect(i.key) AS keys
