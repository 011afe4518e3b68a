CREATE (s:Segment {id: $id, name: $name, description: $description, definition: $definition, text: $text,
                   dependsOn: $dependsOn, timeDependent: $timeDependent, version: 1, createdAt: $now,
                   updatedAt: $now, memberCount: 0, seq: 0})
RETURN s {.*} AS segment
