// How many identifiers `cdp resolve-again` starts from (its progress bar's total).
MATCH (i:Identifier)
WHERE EXISTS { (i)-[:REFUSED_WITH]-(:Identifier) } OR EXISTS { (i)-[:MOVED_FROM]->(:Profile) }
RETURN count(i) AS n
