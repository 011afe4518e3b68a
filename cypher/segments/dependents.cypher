MATCH (s:Segment)
WHERE $id IN s.dependsOn
RETURN s.id AS id
