// The identifiers of one live profile.
MATCH (i:Identifier)-[:BELONGS_TO]->(:Profile {id: $id})
RETURN i.key AS key, i.type AS type, i.value AS value, i.firstSeen AS firstSeen, i.lastSeen AS lastSeen
ORDER BY key
