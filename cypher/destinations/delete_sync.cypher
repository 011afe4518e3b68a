// The sync with its run records and dead letters.
MATCH (s:Sync {id: $id})
CALL (s) { MATCH (r:SyncRun {syncId: s.id}) DELETE r }
CALL (s) { MATCH (x:DeadLetter {syncId: s.id}) DELETE x }
DELETE s
RETURN 1 AS deleted
