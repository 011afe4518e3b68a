// Whether a segment exists (a sync may only name a real one).
MATCH (s:Segment {id: $segment})
RETURN s.id AS id
