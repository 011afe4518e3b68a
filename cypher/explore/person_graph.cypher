// A person's identity graph, drawn: the live profile holding the external id $key, its
// identifiers, the evidence (SEEN_WITH) between them, the profiles merged into it and the joins
// the rules refused around it.
// Set first:  :param key => 'email:ann@example.org'   (type:value, normalised: emails lower-case, phones E.164)
MATCH (:Identifier {key: $key})-[:BELONGS_TO]->(p:Profile)
CALL (p) {
  MATCH path = (:Identifier)-[:BELONGS_TO]->(p)
  RETURN path
  UNION
  MATCH path = (a:Identifier)-[:SEEN_WITH]->(:Identifier)-[:BELONGS_TO]->(p)
  WHERE (a)-[:BELONGS_TO]->(p)
  RETURN path
  UNION
  MATCH path = (:Profile)-[:MERGED_INTO*1..]->(p)
  RETURN path
  UNION
  MATCH path = (:Identifier)-[:REFUSED_WITH]-(:Identifier)-[:BELONGS_TO]->(p)
  RETURN path
}
RETURN path
