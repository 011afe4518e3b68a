CREATE (s:Sync)
SET s = $props
RETURN s {.*} AS s
