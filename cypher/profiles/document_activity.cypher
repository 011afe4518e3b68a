// A profile's events grouped by (type, name, source): the computed traits are derived from these
// few rows in Python. One (identifier, ts) index seek per identifier.
MATCH (:Profile {id: $id})<-[:BELONGS_TO]-(i:Identifier)
MATCH (e:Event) WHERE e.identifier = i.key
RETURN e.type AS type, e.event AS event, e.source AS source, count(*) AS n, min(e.ts) AS first, max(e.ts) AS last
