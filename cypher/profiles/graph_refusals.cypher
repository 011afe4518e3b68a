// Joins the rules refused that touch an identifier of $id, with the profile on each side now.
MATCH (:Profile {id: $id})<-[:BELONGS_TO]-(:Identifier)-[r:REFUSED_WITH]-(:Identifier)
WITH DISTINCT r
WITH r, startNode(r) AS a, endNode(r) AS b
OPTIONAL MATCH (a)-[:BELONGS_TO]->(ap:Profile)
OPTIONAL MATCH (b)-[:BELONGS_TO]->(bp:Profile)
RETURN a.key AS a, b.key AS b, ap.id AS aProfileId, bp.id AS bProfileId, r.reason AS reason,
       r.count AS count, r.source AS source, r.firstAt AS firstAt, r.firstMessageId AS firstMessageId,
       r.lastAt AS lastAt
ORDER BY lastAt DESC, a, b
