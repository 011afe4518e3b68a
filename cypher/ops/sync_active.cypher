// Runs under way (queued, running, deferred) per destination type: a gauge read at scrape time.
MATCH (r:SyncRun)
WHERE r.status IN ['queued', 'running', 'deferred']
OPTIONAL MATCH (d:Destination {id: r.destinationId})
RETURN coalesce(d.type, 'unknown') AS destination, r.status AS status, count(r) AS runs
