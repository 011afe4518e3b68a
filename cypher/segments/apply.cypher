// Re-evaluate these profiles against one segment; record every entry and exit in the feed.
// Setting evaluatedAt takes the segment's write lock first, so upkeep of one segment is
// serialised: seq numbers are gap-free and a higher one never commits before a lower one.
// Profiles that are gone (erased) are skipped; retired ones no longer match, so they exit.
MATCH (s:Segment {id: $segment})
SET s.evaluatedAt = $now
WITH s
CALL (s) {
  UNWIND $ids AS id
  MATCH (p:Profile {id: id})
  WITH p, p.retiredAt IS NULL AND /*filter*/ true AS want, EXISTS { (p)-[:IN_SEGMENT]->(s) } AS have
  WHERE want <> have
  RETURN collect({profile: p, enter: want}) AS changes
}
WITH s, changes, coalesce(s.seq, 0) AS base
SET s.seq = base + size(changes)
WITH s, changes, base
CALL (s, changes, base) {
  UNWIND range(0, size(changes) - 1) AS n
  WITH s, changes[n].profile AS p, changes[n].enter AS enter, base + n + 1 AS seq
  CREATE (:SegmentChange {segmentId: s.id, seq: seq, profileId: p.id, kind: CASE WHEN enter THEN 'enter' ELSE 'exit' END,
                          at: $now})
  FOREACH (_ IN CASE WHEN enter THEN [1] ELSE [] END | CREATE (p)-[:IN_SEGMENT {since: $now, seq: seq}]->(s))
  WITH s, p, enter
  WHERE NOT enter
  MATCH (p)-[r:IN_SEGMENT]->(s)
  DELETE r
}
SET s.memberCount = COUNT { (s)<-[:IN_SEGMENT]-() }
RETURN [c IN changes | {profile: c.profile.id, enter: c.enter}] AS changes, s.memberCount AS memberCount
