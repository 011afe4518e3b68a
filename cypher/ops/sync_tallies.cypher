// Running totals per destination type: finished runs by status and items by outcome. Kept apart
// from the run records, which retention prunes, so the counters never go down.
MATCH (t:SyncTally)
RETURN t {.*} AS t
