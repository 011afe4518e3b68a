// Which of these profiles are members of the segment now.
UNWIND $ids AS id
MATCH (p:Profile {id: id})-[:IN_SEGMENT]->(:Segment {id: $segment})
RETURN p.id AS id
