// The identifiers one step from these: linked by evidence or a refusal, or on the same profile
// (a component resolved again in event-time order is closed under both).
UNWIND $keys AS key
MATCH (i:Identifier {key: key})
CALL (i) {
  MATCH (i)-[:SEEN_WITH|REFUSED_WITH]-(n:Identifier)
  RETURN n.key AS found
  UNION
  MATCH (i)-[:BELONGS_TO]->(:Profile)<-[:BELONGS_TO]-(n:Identifier)
  RETURN n.key AS found
}
RETURN collect(DISTINCT found) AS keys
