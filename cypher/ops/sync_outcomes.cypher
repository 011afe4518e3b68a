// Sync runs by destination type and status, with the items they added, removed and failed: read at
// scrape time, since runs happen in worker processes that have no /metrics of their own.
MATCH (r:SyncRun)
OPTIONAL MATCH (s:Sync {id: r.syncId})
OPTIONAL MATCH (d:Destination {id: s.destinationId})
RETURN coalesce(d.type, 'unknown') AS destination, r.status AS status, count(r) AS runs,
       sum(coalesce(r.added, 0)) AS added, sum(coalesce(r.removed, 0)) AS removed, sum(coalesce(r.failed, 0)) AS failed
