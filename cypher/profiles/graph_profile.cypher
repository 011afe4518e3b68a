// The profile node itself (live or retired).
MATCH (p:Profile {id: $id})
RETURN p.id AS id, p.createdAt AS createdAt, p.firstSeen AS firstSeen, p.lastSeen AS lastSeen,
       p.retiredAt AS retiredAt, coalesce(p.n_user_id, 0) AS n_user_id, coalesce(p.n_email, 0) AS n_email,
       coalesce(p.n_phone, 0) AS n_phone, coalesce(p.n_anonymous_id, 0) AS n_anonymous_id
