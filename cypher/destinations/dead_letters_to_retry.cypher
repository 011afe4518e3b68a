// A page of a sync's dead letters for a retry run, oldest first: those from before the run began
// and not its own (the ones it dead-letters again are the next retry's, whatever the clocks say).
MATCH (x:DeadLetter {syncId: $sync})
WHERE x.at < $before AND x.runId <> $run
RETURN x {.id, .profileId, .op, .at} AS x
ORDER BY x.at, x.id
LIMIT $limit
