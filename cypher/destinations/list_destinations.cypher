MATCH (d:Destination)
RETURN d {.*} AS d
ORDER BY d.createdAt, d.id
LIMIT $limit
