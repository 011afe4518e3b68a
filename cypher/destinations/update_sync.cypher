MATCH (s:Sync {id: $id})
SET s += $props
RETURN s {.*} AS s
