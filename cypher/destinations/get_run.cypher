MATCH (r:SyncRun {id: $id})
RETURN r {.*} AS r
