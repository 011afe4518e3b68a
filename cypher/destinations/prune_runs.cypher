// Finished runs past the retention, a chunk at a time. Each sync's last run stays: the sync's
// status names it. Active runs are never pruned, however old. The hint: a status predicate matching
// nearly every run must not lead the planner away from the time index.
MATCH (s:Sync)
WITH collect(s.lastRunId) AS kept
MATCH (r:SyncRun)
USING INDEX r:SyncRun(finishedAt)
WHERE r.finishedAt < $before AND r.status IN $terminal AND NOT r.id IN kept
WITH r LIMIT $limit
DELETE r
RETURN count(r) AS deleted
