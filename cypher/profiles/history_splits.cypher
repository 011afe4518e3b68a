// Splits (unmerges) involving $id or a profile merged into it: (new)-[:SPLIT_FROM]->(original).
MATCH (p:Profile {id: $id})
OPTIONAL MATCH (p)<-[:MERGED_INTO*1..]-(r:Profile)
WITH p, collect(DISTINCT r) AS merged
UNWIND merged + [p] AS mine
MATCH (mine)-[s:SPLIT_FROM]-(:Profile)
WITH DISTINCT s
RETURN startNode(s).id AS profileId, endNode(s).id AS splitFrom, s.at AS at, s.identifiers AS identifiers,
       s.reason AS reason
ORDER BY at DESC, profileId
