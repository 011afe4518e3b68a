// Live profiles holding an identifier whose value, or key, starts with one of the prefixes;
// the first $limit profile ids after $after.
CALL () {
  UNWIND $valuePrefixes AS pre
  MATCH (i:Identifier) WHERE i.value STARTS WITH pre
  RETURN i
  UNION
  UNWIND $keyPrefixes AS pre
  MATCH (i:Identifier) WHERE i.key STARTS WITH pre
  RETURN i
}
MATCH (i)-[:BELONGS_TO]->(p:Profile)
WHERE p.retiredAt IS NULL AND ($after IS NULL OR p.id > $after)
RETURN DISTINCT p.id AS id
ORDER BY id
LIMIT $limit
