// Syncs that push trait changes between runs: enabled, with a completed first export.
MATCH (s:Sync)
WHERE s.enabled AND s.pushTraitChanges AND s.cursor IS NOT NULL
RETURN s {.*} AS s
