// Running, with its plan fixed the first time (a resumed run keeps mode, base, head and position).
MATCH (r:SyncRun {id: $id})
SET r.status = 'running', r.attempts = coalesce(r.attempts, 0) + 1, r.heartbeatAt = $now,
    r.startedAt = coalesce(r.startedAt, $now), r.mode = coalesce(r.mode, $mode),
    r.baseSeq = coalesce(r.baseSeq, $base), r.headSeq = coalesce(r.headSeq, $head),
    r.posSeq = coalesce(r.posSeq, $base), r.resumeAt = null
RETURN r {.*} AS r
