// A new run unless one is already active. The SET takes the sync's write lock first, so two
// concurrent requests serialise here and the second sees the first's run.
MATCH (s:Sync {id: $sync})
SET s.runRequestedAt = $props.createdAt
WITH s
OPTIONAL MATCH (active:SyncRun)
WHERE active.syncId = $sync AND active.status IN ['queued', 'running', 'deferred']
WITH s, collect(active.id) AS active
FOREACH (_ IN CASE WHEN size(active) = 0 THEN [1] ELSE [] END | CREATE (r:SyncRun) SET r = $props)
RETURN active
