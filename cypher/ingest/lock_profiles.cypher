// Lock the profiles the batch touches (sorted ids) and read their identifier counts.
UNWIND $ids AS id
MATCH (p:Profile {id: id})
SET p.version = coalesce(p.version, 0) + 1
RETURN p.id AS id, p.createdAt AS createdAt, p.retiredAt IS NOT NULL AS retired,
       coalesce(p.n_user_id, 0) AS user_id, coalesce(p.n_email, 0) AS email,
       coalesce(p.n_phone, 0) AS phone, coalesce(p.n_anonymous_id, 0) AS anonymous_id
