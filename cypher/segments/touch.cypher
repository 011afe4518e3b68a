// A full evaluation found nothing to change: note when, and recount (an erasure deletes members
// without upkeep seeing it, so the count heals here).
MATCH (s:Segment {id: $segment})
SET s.evaluatedAt = $now, s.memberCount = COUNT { (s)<-[:IN_SEGMENT]-() }
