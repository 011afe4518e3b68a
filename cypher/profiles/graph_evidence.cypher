// SEEN_WITH evidence between two identifiers of the same profile (stored once, in key order).
MATCH (a:Identifier)-[:BELONGS_TO]->(p:Profile {id: $id})
MATCH (a)-[e:SEEN_WITH]->(b:Identifier)-[:BELONGS_TO]->(p)
RETURN a.key AS a, b.key AS b, e.firstAt AS firstAt, e.firstMessageId AS firstMessageId, e.source AS source,
       e.lastAt AS lastAt, e.lastMessageId AS lastMessageId, e.count AS count
ORDER BY a, b
