MATCH (s:Segment)
RETURN s {.*} AS segment
ORDER BY s.createdAt, s.id
