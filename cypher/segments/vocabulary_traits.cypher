// Trait names seen so far (the segment field allow-list), for the builder's suggestions.
MATCH (k:TraitKey)
RETURN k.name AS name
ORDER BY name
LIMIT $limit
