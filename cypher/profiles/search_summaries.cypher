// The search result rows for a page of profile ids.
UNWIND $ids AS id
MATCH (p:Profile {id: id})
RETURN p.id AS id, p.firstSeen AS firstSeen, p.lastSeen AS lastSeen,
       [(i:Identifier)-[:BELONGS_TO]->(p) | i {.type, .value}] AS identifiers
