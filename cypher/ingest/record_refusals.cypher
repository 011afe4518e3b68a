// A join the rules refused: kept so the decision is explainable, with the first message by event
// time that asked for it (a component resolved again in event-time order replays from there).
UNWIND $batch.refusals AS row
MATCH (a:Identifier {key: row.a}), (b:Identifier {key: row.b})
MERGE (a)-[r:REFUSED_WITH]->(b)
  ON CREATE SET r.firstAt = row.firstAt, r.firstMessageId = row.firstMessageId, r.source = row.source,
                r.reason = row.reason, r.lastAt = row.lastAt, r.count = 0
SET r.count = r.count + row.count, r.reason = row.reason,
    r.lastAt = CASE WHEN row.lastAt > r.lastAt THEN row.lastAt ELSE r.lastAt END
FOREACH (_ IN CASE WHEN row.firstAt < r.firstAt THEN [1] ELSE [] END |
  SET r.firstAt = row.firstAt, r.firstMessageId = row.firstMessageId, r.source = row.source)
