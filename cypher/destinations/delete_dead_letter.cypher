MATCH (x:DeadLetter {syncId: $sync, id: $id})
DELETE x
RETURN count(*) AS deleted
