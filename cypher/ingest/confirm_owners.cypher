// The known-owners path: one statement for a group whose every message's identifiers this process
// last saw on one profile each (nothing to merge, assign or refuse). As the snapshot does, it
// finds stored messageIds and suppressed hashes first; only if both are empty does it lock the
// identifiers (sorted by key, the snapshot's lock order) and confirm that each still belongs to
// the profile remembered for it, live (as the snapshot requires) and within every limit. The
// write steps that follow run only when every row is confirmed; otherwise nothing but the
// identifiers' seen window was written, and the store plans the group from a snapshot.
CALL () { UNWIND $batch.ids AS id MATCH (e:Event {messageId: id}) RETURN collect(e.messageId) AS stored }
CALL () { UNWIND $batch.hashes AS h MATCH (s:Suppression {hash: h}) RETURN collect(s.hash) AS suppressed }
CALL (stored, suppressed) {
  WITH * WHERE stored = [] AND suppressed = []
  UNWIND $batch.identifiers AS row
  MATCH (i:Identifier {key: row.key})
  SET i.lastSeen = CASE WHEN i.lastSeen IS NULL OR row.lastSeen > i.lastSeen THEN row.lastSeen ELSE i.lastSeen END,
      i.firstSeen = CASE WHEN row.firstSeen < i.firstSeen THEN row.firstSeen ELSE i.firstSeen END
  WITH i, row
  MATCH (i)-[:BELONGS_TO]->(p:Profile {id: row.profile})
  WHERE p.retiredAt IS NULL AND all(l IN $batch.limits WHERE coalesce(p[l.count], 0) <= l.limit)
  RETURN count(*) = size($batch.identifiers) AS confirmed
}
