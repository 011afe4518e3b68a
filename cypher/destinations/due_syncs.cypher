// Enabled scheduled syncs whose next run time has come.
MATCH (s:Sync)
WHERE s.enabled AND s.nextRunAt IS NOT NULL AND s.nextRunAt <= $now
RETURN s {.*} AS s
ORDER BY s.nextRunAt
LIMIT $limit
