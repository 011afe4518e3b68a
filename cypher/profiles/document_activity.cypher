// Per profile id: its events grouped by (type, name, source), as one list per profile (the
// driver's cost per record outweighed the query's): the computed traits are derived from these
// few groups in Python. Events are reached from the profile's identifiers (never a label scan).
UNWIND $ids AS id
CALL (id) {
  MATCH (:Profile {id: id})<-[:BELONGS_TO]-(:Identifier)<-[:SEEN_AS]-(e:Event)
  WITH e.type AS type, e.event AS event, e.source AS source, count(*) AS n, min(e.ts) AS first, max(e.ts) AS last
  RETURN collect({type: type, event: event, source: source, n: n, first: first, last: last}) AS activity
}
RETURN id, activity
