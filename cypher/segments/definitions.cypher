// Every segment's definition and dependencies: what upkeep evaluates, in dependency order.
MATCH (s:Segment)
RETURN s.id AS id, s.version AS version, s.definition AS definition, s.dependsOn AS dependsOn,
       s.timeDependent AS timeDependent
