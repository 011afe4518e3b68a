// Per profile id: its events grouped by (type, name, source): the computed traits are derived
// from these few rows in Python. Events are reached from the profile's identifiers (never a label scan).
UNWIND $ids AS id
MATCH (:Profile {id: id})<-[:BELONGS_TO]-(:Identifier)<-[:SEEN_AS]-(e:Event)
RETURN id, e.type AS type, e.event AS event, e.source AS source, count(*) AS n, min(e.ts) AS first, max(e.ts) AS last
