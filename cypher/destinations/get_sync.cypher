MATCH (s:Sync {id: $id})
RETURN s {.*} AS s
