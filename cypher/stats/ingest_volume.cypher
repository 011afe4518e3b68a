// Events stored per source and time bucket in [$since, $until), by event time (event_ts index).
MATCH (e:Event)
WHERE e.ts >= $since AND e.ts < $until
WITH e.source AS source, e.ts - (e.ts - $since) % $bucketMs AS bucket
RETURN source, bucket, count(*) AS events
ORDER BY bucket, source
