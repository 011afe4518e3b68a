// One page of the profile export: live profiles by id (the profile_id constraint's index, in its
// order), after the cursor's id; $seenSince (null: any) keeps those with an event at or after it.
MATCH (p:Profile)
WHERE p.id > $afterId AND p.retiredAt IS NULL
  AND ($seenSince IS NULL OR p.lastSeen >= $seenSince)
RETURN p.id AS id
ORDER BY p.id
LIMIT $limit
