// Identifiers claimed off one profile by another (MOVED_FROM points at the profile they left):
// those now on $id that came from elsewhere, and those that left $id or a profile merged into it.
MATCH (p:Profile {id: $id})
OPTIONAL MATCH (p)<-[:MERGED_INTO*1..]-(r:Profile)
WITH p, collect(DISTINCT r) + [p] AS mine
CALL (p, mine) {
  MATCH (p)<-[:BELONGS_TO]-(i:Identifier)-[m:MOVED_FROM]->(old:Profile)
  RETURN i, m, old
  UNION
  UNWIND mine AS left
  MATCH (left)<-[m:MOVED_FROM]-(i:Identifier)
  RETURN i, m, left AS old
}
RETURN i.key AS key, old.id AS fromProfile, m.to AS toProfile, m.at AS at, m.messageId AS messageId,
       m.source AS source, m.reason AS reason
ORDER BY at DESC, key
