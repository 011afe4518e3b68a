// Live profiles whose identify traits held a value equal to the query, whole, in any case: the word
// index (which lower-cases) narrows to candidate events, the needles (':' + JSON value + ',' or '}')
// keep whole values only.
CALL db.index.fulltext.queryNodes('identify_traits', $lucene) YIELD node AS e
WITH e WHERE any(n IN $needles WHERE toLower(e.traits) CONTAINS toLower(n))
MATCH (e)-[:SEEN_AS]->(:Identifier)-[:BELONGS_TO]->(p:Profile)
WHERE p.retiredAt IS NULL AND ($after IS NULL OR p.id > $after)
RETURN DISTINCT p.id AS id
ORDER BY id
LIMIT $limit
