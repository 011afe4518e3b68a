MATCH (r:SyncRun {syncId: $sync})
RETURN r {.*} AS r
ORDER BY r.createdAt DESC, r.id DESC
LIMIT $limit
