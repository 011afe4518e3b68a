// A run's end. 'completed' becomes succeeded, or partial when items were dead-lettered; a completed
// run moves the sync's cursor to the run's head, so the next run sends only what changed after it
// (trait pushes and dead-letter retries send no part of the feed: they leave it).
// The destination type's tally counts the run once (the metrics' counters: run records are pruned).
// The run's lock comes first, so two finishes of one run (a resumed run racing its first worker)
// cannot both read it unfinished and count it twice.
MATCH (r:SyncRun {id: $id})
SET r.finishingAt = $now
WITH r, r.status IN ['succeeded', 'partial', 'failed'] AS counted,
     CASE WHEN $status <> 'completed' THEN $status WHEN r.failed > 0 THEN 'partial' ELSE 'succeeded' END AS status
SET r.status = status, r.finishedAt = $now, r.durationMs = $now - coalesce(r.startedAt, r.createdAt),
    r.errors = (coalesce(r.errors, []) + $errors)[-20..]
WITH r, status, counted
MATCH (s:Sync {id: r.syncId})
SET s.lastRunId = r.id, s.lastRunStatus = status, s.lastRunAt = $now
FOREACH (_ IN CASE WHEN status IN ['succeeded', 'partial'] AND NOT r.trigger IN ['traits', 'dead_letters'] THEN [1] ELSE [] END |
  SET s.cursor = r.headSeq, s.lastSuccessAt = $now)
WITH r, status, counted
CALL (r, status, counted) {
  WITH r, status, counted WHERE NOT counted
  MATCH (dest:Destination {id: r.destinationId})
  MERGE (t:SyncTally {destination: dest.type})
  SET t['runs.' + status] = coalesce(t['runs.' + status], 0) + 1
}
RETURN r {.*} AS r
