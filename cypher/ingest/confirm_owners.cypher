// The known-owners path: one statement for a group whose every message brings identifiers this
// process last saw on one profile, or identifiers it never saw (assumed new). Each row carries the
// assumed owner (`profile`, null for a new identifier). As the snapshot does, it finds stored
// messageIds and suppressed hashes first; only if both are empty does it MERGE the identifiers
// (sorted by key, the snapshot's lock order) and confirm each assumption: a remembered identifier
// still belongs to that profile, live (as the snapshot requires) and within every limit; a new one
// belongs to no profile. The write steps that follow (composed by app/db.py confirmed_then) run
// only when every row is confirmed. Otherwise the statement answers what snapshot.cypher answers,
// and the store plans from that. Apart from the `held` check and the `NOT confirmed` guards this is
// snapshot.cypher's text, for the same reasons; each file stays a whole statement one can read alone.
CALL () { UNWIND $batch.ids AS id MATCH (e:Event {messageId: id}) RETURN collect(e.messageId) AS stored }
CALL () { UNWIND $batch.hashes AS h MATCH (s:Suppression {hash: h}) RETURN collect(s.hash) AS suppressed }
CALL (stored, suppressed) {
  WITH * WHERE stored = [] AND suppressed = []
  UNWIND $batch.identifiers AS row
  MERGE (i:Identifier {key: row.key})
    ON CREATE SET i.type = row.type, i.value = row.value, i.firstSeen = row.firstSeen
  SET i.lastSeen = CASE WHEN i.lastSeen IS NULL OR row.lastSeen > i.lastSeen THEN row.lastSeen ELSE i.lastSeen END,
      i.firstSeen = CASE WHEN row.firstSeen < i.firstSeen THEN row.firstSeen ELSE i.firstSeen END
  WITH i, row
  OPTIONAL MATCH (i)-[:BELONGS_TO]->(p:Profile)
  WITH i, row, p,
       CASE WHEN row.profile IS NULL THEN p IS NULL
            WHEN p IS NULL THEN false
            ELSE p.id = row.profile AND p.retiredAt IS NULL
                 AND all(l IN $batch.limits WHERE coalesce(p[l.count], 0) <= l.limit) END AS held
  RETURN collect({key: i.key, type: row.type, profile: p.id}) AS owners,
         count(CASE WHEN held THEN 1 END) = size($batch.identifiers) AS confirmed
}
CALL (owners, confirmed) {
  WITH * WHERE NOT confirmed
  UNWIND owners AS o
  WITH DISTINCT o.profile AS id WHERE id IS NOT NULL
  ORDER BY id
  MATCH (p:Profile {id: id})
  SET p.version = coalesce(p.version, 0) + 1
  RETURN collect({id: p.id, createdAt: p.createdAt, retired: p.retiredAt IS NOT NULL,
                  user_id: coalesce(p.n_user_id, 0), email: coalesce(p.n_email, 0),
                  phone: coalesce(p.n_phone, 0), anonymous_id: coalesce(p.n_anonymous_id, 0),
                  blocks: CASE WHEN p.splitBlocks THEN COLLECT {
                    MATCH (p)<-[:BELONGS_TO]-(:Identifier)-[b:SPLIT_APART]-(:Identifier)-[:BELONGS_TO]->(o:Profile)
                    WHERE o <> p
                    RETURN {profile: o.id, at: b.at}
                  } ELSE [] END}) AS profiles
}
CALL (owners, confirmed) {
  WITH * WHERE NOT confirmed
  UNWIND owners AS o
  WITH o WHERE o.profile IS NOT NULL AND o.type IN ['email', 'phone']
  MATCH (:Identifier {key: o.key})-[:SEEN_WITH]-(u:Identifier {type: 'user_id'})
  WITH o.key AS key, collect(u.key) AS users
  RETURN collect({key: key, users: users}) AS directUsers
}
