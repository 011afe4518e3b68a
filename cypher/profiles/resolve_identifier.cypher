MATCH (:Identifier {key: $key})-[:BELONGS_TO]->(p:Profile)
RETURN p.id AS id
