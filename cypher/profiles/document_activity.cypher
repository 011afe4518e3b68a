// A profile's events grouped by (type, name, source): the computed traits are derived from these
// few rows in Python. Events are reached from the profile's identifiers (never a label scan).
MATCH (:Profile {id: $id})<-[:BELONGS_TO]-(:Identifier)<-[:SEEN_AS]-(e:Event)
RETURN e.type AS type, e.event AS event, e.source AS source, count(*) AS n, min(e.ts) AS first, max(e.ts) AS last
