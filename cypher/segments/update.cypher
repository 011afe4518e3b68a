MATCH (s:Segment {id: $id})
SET s.name = $name, s.description = $description, s.definition = $definition, s.text = $text,
    s.dependsOn = $dependsOn, s.timeDependent = $timeDependent, s.version = s.version + 1, s.updatedAt = $now
RETURN s {.*} AS segment
