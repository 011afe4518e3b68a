// The most frequent track event names in [$since, $until).
MATCH (e:Event)
WHERE e.ts >= $since AND e.ts < $until AND e.type = 'track'
RETURN e.event AS event, count(*) AS events
ORDER BY events DESC, event
LIMIT $limit
