// Syncs sending this segment: deleting it would leave their members at the destination for good.
MATCH (s:Sync {segmentId: $id})
RETURN s.id AS id
