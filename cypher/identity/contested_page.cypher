// Identifiers where a rule decided something (a refused join, a claimed email or phone), in key
// order after $after: the seeds of the components `cdp resolve-again` replays.
MATCH (i:Identifier)
WHERE i.key > $after AND (EXISTS { (i)-[:REFUSED_WITH]-(:Identifier) } OR EXISTS { (i)-[:MOVED_FROM]->(:Profile) })
RETURN i.key AS key
ORDER BY key
LIMIT $limit
