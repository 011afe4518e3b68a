// Refused (nothing deleted) while a sync still sends to it: its runs would lose their target.
MATCH (d:Destination {id: $id})
WITH d, COUNT { (s:Sync {destinationId: $id}) } AS syncs
FOREACH (_ IN CASE WHEN syncs = 0 THEN [1] ELSE [] END | DELETE d)
RETURN syncs
