// Mark the profiles being erased as retired, so membership upkeep records their exits before
// the nodes go.
UNWIND $profiles AS pid
MATCH (p:Profile {id: pid})
SET p.retiredAt = coalesce(p.retiredAt, $at), p.erasing = true
