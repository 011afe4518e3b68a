// Refused (nothing deleted) while a sync still sends to it: its runs would lose their target. The
// lock comes first, as creating a sync takes it: the count then sees a sync created meanwhile.
MATCH (d:Destination {id: $id})
SET d.lockedAt = timestamp()
WITH d, COUNT { (s:Sync {destinationId: $id}) } AS syncs
FOREACH (_ IN CASE WHEN syncs = 0 THEN [1] ELSE [] END | DELETE d)
RETURN syncs
