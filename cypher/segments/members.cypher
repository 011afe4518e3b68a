// One page of members, by profile id after the cursor.
MATCH (s:Segment {id: $segment})<-[r:IN_SEGMENT]-(p:Profile)
WHERE p.id > $after
RETURN p.id AS profileId, r.since AS since
ORDER BY p.id
LIMIT $limit
