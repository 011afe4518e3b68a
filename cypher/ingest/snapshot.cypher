// Everything the planner reads, in one round trip, and the check that lets a group skip it:
// 1. which messageIds are already stored (dedup of retries) and which identifier hashes are on
//    the suppression list (erased people), both sorted: a key a seek does not find stays
//    locked until commit;
// 2. only if both are empty (the store drops those messages and asks again otherwise): MERGE
//    every identifier (sorted by key, to keep lock order stable) and take its write lock by
//    setting lastSeen, and read its live profile and its newest message before this batch (the
//    planner tells a late message by it). Held until commit, the lock keeps any other
//    writer from moving this identifier while we plan;
// 3. `confirmed`: whether every identifier is where its row says it is. A row of the known-owners
//    path (app/identity/store.py _write_on_known_owners) carries the profile it was last written
//    to, which must still hold it, live, with no rule decision as new as the batch's messages there
//    (`decidedAt`: such a message may need its component resolved again, which the planner
//    decides from the full snapshot) and within every limit in `$batch.limits`; a row without
//    `profile` (every row of the plain snapshot) must belong to no profile. When confirmed, the
//    planner's guess stands and the steps below have nothing to read: a known-owners group's
//    writes follow in the same statement (app/db.py confirmed_then);
// 4. otherwise, lock the identifiers' profiles (sorted ids) and read their identifier counts and,
//    for profiles that were ever split, the profiles their identifiers were split apart from;
// 5. and for emails and phones already on a profile: the user ids each was seen with in the same
//    message (the planner's shared-device rule tells a device-borne email from a claimed one).
// A statement that runs this file ends with confirmed_then's RETURN.
CALL () { UNWIND $batch.ids AS id MATCH (e:Event {messageId: id}) RETURN collect(e.messageId) AS stored }
CALL () { UNWIND $batch.hashes AS h MATCH (s:Suppression {hash: h}) RETURN collect(s.hash) AS suppressed }
CALL (stored, suppressed) {
  WITH * WHERE stored = [] AND suppressed = []
  UNWIND $batch.identifiers AS row
  MERGE (i:Identifier {key: row.key})
    ON CREATE SET i.type = row.type, i.value = row.value, i.firstSeen = row.firstSeen
  WITH i, row, i.lastSeen AS seenBefore
  SET i.lastSeen = CASE WHEN i.lastSeen IS NULL OR row.lastSeen > i.lastSeen THEN row.lastSeen ELSE i.lastSeen END,
      i.firstSeen = CASE WHEN row.firstSeen < i.firstSeen THEN row.firstSeen ELSE i.firstSeen END
  WITH i, row, seenBefore
  OPTIONAL MATCH (i)-[:BELONGS_TO]->(p:Profile)
  WITH i, row, seenBefore, p,
       CASE WHEN row.profile IS NULL THEN p IS NULL
            WHEN p IS NULL THEN false
            ELSE p.id = row.profile AND p.retiredAt IS NULL AND coalesce(p.decidedAt, -1) < row.firstSeen
                 AND all(l IN $batch.limits WHERE coalesce(p[l.count], 0) <= l.limit) END AS held
  RETURN collect({key: i.key, type: row.type, profile: p.id, seenBefore: seenBefore}) AS owners,
         count(CASE WHEN held THEN 1 END) = size($batch.identifiers) AS confirmed
}
CALL (owners, confirmed) {
  WITH * WHERE NOT confirmed
  UNWIND owners AS o
  WITH DISTINCT o.profile AS id WHERE id IS NOT NULL
  ORDER BY id
  MATCH (p:Profile {id: id})
  SET p.version = coalesce(p.version, 0) + 1
  WITH p
  // A profile a rule decided for (refused a join, claimed an identifier): the newest message on
  // any identifier of it outside this batch, which tells a late message there (the planner reads
  // the batch's own identifiers' from `owners`).
  CALL (p) {
    WITH p WHERE p.decidedAt IS NOT NULL
    MATCH (p)<-[:BELONGS_TO]-(i:Identifier)
    WHERE NOT i.key IN [row IN $batch.identifiers | row.key]
    RETURN max(i.lastSeen) AS newestTouch
  }
  RETURN collect({id: p.id, createdAt: p.createdAt, lastSeen: p.lastSeen, retired: p.retiredAt IS NOT NULL,
                  decidedAt: p.decidedAt,
                  newestTouch: newestTouch,
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
