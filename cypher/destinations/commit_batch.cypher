// One acknowledged batch: advance the run's cursor, add its counts, keep the newest errors, record
// its poison items and, for a retry of dead letters, delete the letters it sent again - all in one
// transaction, so a crash re-sends at most this batch.
MATCH (r:SyncRun {id: $id})
SET r.posSeq = $posSeq, r.posProfile = $posProfile, r.heartbeatAt = $now,
    r.added = r.added + $added, r.removed = r.removed + $removed, r.failed = r.failed + $failed,
    r.updated = coalesce(r.updated, 0) + $updated,
    r.skipped = r.skipped + $skipped,
    r.errors = (coalesce(r.errors, []) + $errors)[-20..]
WITH r
// The destination type's running totals, which outlive pruned runs (the metrics' counters).
CALL (r) {
  MATCH (dest:Destination {id: r.destinationId})
  MERGE (t:SyncTally {destination: dest.type})
  SET t.added = coalesce(t.added, 0) + $added, t.removed = coalesce(t.removed, 0) + $removed,
      t.updated = coalesce(t.updated, 0) + $updated, t.failed = coalesce(t.failed, 0) + $failed
}
WITH r
CALL () {
  UNWIND $retried AS id
  MATCH (old:DeadLetter {id: id})
  DELETE old
}
WITH r
UNWIND $dead AS d
CREATE (x:DeadLetter)
SET x = d
