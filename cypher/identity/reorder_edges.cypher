// Edges whose kind a component's resolution in event-time order decided the other way: a refusal
// that is now a join, a join that is now a refusal. The pair's counts and first message carry over;
// edges are stored in key order ($joined and $refused rows have a < b).
CALL () {
  UNWIND $joined AS row
  MATCH (a:Identifier {key: row.a})-[r:REFUSED_WITH]-(b:Identifier {key: row.b})
  MERGE (a)-[e:SEEN_WITH]->(b)
    ON CREATE SET e.firstAt = r.firstAt, e.firstMessageId = r.firstMessageId, e.source = r.source,
                  e.lastAt = r.lastAt, e.count = 0
  SET e.count = e.count + r.count
  DELETE r
}
CALL () {
  UNWIND $refused AS row
  MATCH (a:Identifier {key: row.a})-[e:SEEN_WITH]-(b:Identifier {key: row.b})
  MERGE (a)-[r:REFUSED_WITH]->(b)
    ON CREATE SET r.firstAt = e.firstAt, r.firstMessageId = e.firstMessageId, r.source = e.source,
                  r.lastAt = e.lastAt, r.count = 0
  SET r.count = r.count + e.count, r.reason = row.reason
  DELETE e
}
