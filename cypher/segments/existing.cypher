UNWIND $ids AS id
MATCH (s:Segment {id: id})
RETURN s.id AS id
