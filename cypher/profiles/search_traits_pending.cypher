// The same match over identify events the worker has not indexed yet (a few seconds' worth while
// it runs): read before the index, so an event it moves meanwhile is found by one or the other.
MATCH (e:TraitsPending)
WHERE any(n IN $needles WHERE toLower(e.traits) CONTAINS toLower(n))
MATCH (e)-[:SEEN_AS]->(:Identifier)-[:BELONGS_TO]->(p:Profile)
WHERE p.retiredAt IS NULL AND ($after IS NULL OR p.id > $after)
RETURN DISTINCT p.id AS id
ORDER BY id
LIMIT $limit
