// Every profile merged into $id, directly or through a chain of merges, with the merge it took
// part in (its own MERGED_INTO edge). Merge history is a tree, so paths are few.
MATCH (:Profile {id: $id})<-[:MERGED_INTO*1..]-(r:Profile)
WITH DISTINCT r
MATCH (r)-[m:MERGED_INTO]->(into:Profile)
RETURN r.id AS profileId, into.id AS into, m.at AS at, m.messageId AS messageId, m.source AS source,
       m.reason AS reason, r.createdAt AS createdAt, r.firstSeen AS firstSeen, r.lastSeen AS lastSeen,
       r.retiredAt AS retiredAt
ORDER BY at DESC, profileId
