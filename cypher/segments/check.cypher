// Read-only, one round trip for every segment: the profiles whose membership is wrong now, with
// the segments it is wrong for (the compiler puts one `CASE WHEN <want> <> <have> THEN $segment
// END` per segment in the list), and the catalogue of (id, version) pairs the caller's cached
// definitions must match. One row; none when no profile exists any more.
CALL () {
  MATCH (s:Segment)
  RETURN collect([s.id, s.version]) AS catalog
}
UNWIND $ids AS id
MATCH (p:Profile {id: id})
WITH catalog, p.id AS id, [x IN /*checks*/ [] WHERE x IS NOT NULL] AS wrong
RETURN catalog, collect(CASE WHEN size(wrong) > 0 THEN {id: id, segments: wrong} END) AS wrong
