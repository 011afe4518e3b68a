// The active run (queued, running or deferred; at most one) of each of these syncs.
UNWIND $syncs AS sync
MATCH (r:SyncRun)
WHERE r.syncId = sync AND r.status IN ['queued', 'running', 'deferred']
RETURN sync, r {.id, .status, .trigger, .createdAt, .startedAt, .resumeAt, .deferrals, .errors} AS r
