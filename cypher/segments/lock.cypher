// Write-lock the segments a definition refers to, so a concurrent delete cannot slip between the
// existence check and the save; returns those that exist.
UNWIND $ids AS id
MATCH (s:Segment {id: id})
SET s.lockedAt = $now
RETURN s.id AS id
