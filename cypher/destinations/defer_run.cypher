// Handed back to the queue (rate limit, Retry-After, vendor down); counted against the deferral budget.
MATCH (r:SyncRun {id: $id})
SET r.status = 'deferred', r.resumeAt = $resumeAt, r.deferrals = coalesce(r.deferrals, 0) + 1,
    r.heartbeatAt = $now, r.errors = (coalesce(r.errors, []) + [$error])[-20..]
RETURN r.deferrals AS deferrals
