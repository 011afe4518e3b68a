MATCH (s:Sync)
RETURN s {.*} AS s
ORDER BY s.createdAt, s.id
LIMIT $limit
