// Lock the profiles the batch touches (sorted ids) and read their identifier counts, and, for
// profiles that were ever split, the profiles their identifiers were split apart from.
UNWIND $ids AS id
MATCH (p:Profile {id: id})
SET p.version = coalesce(p.version, 0) + 1
RETURN p.id AS id, p.createdAt AS createdAt, p.retiredAt IS NOT NULL AS retired,
       coalesce(p.n_user_id, 0) AS user_id, coalesce(p.n_email, 0) AS email,
       coalesce(p.n_phone, 0) AS phone, coalesce(p.n_anonymous_id, 0) AS anonymous_id,
       CASE WHEN p.splitBlocks THEN COLLECT {
         MATCH (p)<-[:BELONGS_TO]-(:Identifier)-[b:SPLIT_APART]-(:Identifier)-[:BELONGS_TO]->(o:Profile)
         WHERE o <> p
         RETURN {profile: o.id, at: b.at}
       } ELSE [] END AS blocks
