MATCH (d:Destination {id: $id})
SET d += $props
RETURN d {.*} AS d
