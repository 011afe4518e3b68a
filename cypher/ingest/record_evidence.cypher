// Which message first (by event time) joined two identifiers, how often, from which source.
UNWIND $batch.evidence AS row
MATCH (a:Identifier {key: row.a}), (b:Identifier {key: row.b})
MERGE (a)-[e:SEEN_WITH]->(b)
  ON CREATE SET e.firstAt = row.firstAt, e.firstMessageId = row.firstMessageId, e.source = row.source,
                e.lastAt = row.lastAt, e.lastMessageId = row.lastMessageId, e.count = 0
SET e.count = e.count + row.count
FOREACH (_ IN CASE WHEN row.firstAt < e.firstAt THEN [1] ELSE [] END |
  SET e.firstAt = row.firstAt, e.firstMessageId = row.firstMessageId, e.source = row.source)
FOREACH (_ IN CASE WHEN row.lastAt > e.lastAt THEN [1] ELSE [] END |
  SET e.lastAt = row.lastAt, e.lastMessageId = row.lastMessageId)
