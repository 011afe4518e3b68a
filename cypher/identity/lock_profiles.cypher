// Write-lock profiles, in the (sorted) order given.
UNWIND $profiles AS pid
MATCH (p:Profile {id: pid})
SET p.version = coalesce(p.version, 0) + 1
