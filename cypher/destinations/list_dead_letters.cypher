MATCH (x:DeadLetter {syncId: $sync})
WHERE $before IS NULL OR x.at < $before
RETURN x {.*} AS x
ORDER BY x.at DESC, x.id DESC
LIMIT $limit
