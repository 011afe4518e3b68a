// Current members after a profile id, in id order: the profile_id index gives the order, so a
// full export walks the profiles once however many pages it takes.
MATCH (p:Profile)
WHERE p.id > $after AND EXISTS { (p)-[:IN_SEGMENT]->(:Segment {id: $segment}) }
RETURN p.id AS id
ORDER BY p.id
LIMIT $limit
