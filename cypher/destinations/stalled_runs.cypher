// Active runs whose worker has not reported for a while (crashed, or its queued message was lost).
MATCH (r:SyncRun)
WHERE r.status IN ['queued', 'running', 'deferred']
  AND coalesce(r.resumeAt, 0) <= $now AND coalesce(r.heartbeatAt, r.createdAt) <= $stale
RETURN r.id AS id, r.syncId AS sync
LIMIT $limit
