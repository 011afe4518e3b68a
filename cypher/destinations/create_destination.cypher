CREATE (d:Destination)
SET d = $props
RETURN d {.*} AS d
