// The live profiles holding the most identifiers: where over-merging shows first.
// Set first:  :param limit => 25
MATCH (p:Profile)
WHERE p.retiredAt IS NULL
WITH p, coalesce(p.n_user_id, 0) AS userIds, coalesce(p.n_email, 0) AS emails, coalesce(p.n_phone, 0) AS phones,
     coalesce(p.n_anonymous_id, 0) AS anonymousIds
RETURN p.id AS profile, userIds + emails + phones + anonymousIds AS identifiers, userIds, emails, phones,
       anonymousIds, datetime({epochMillis: p.firstSeen}) AS firstSeen, datetime({epochMillis: p.lastSeen}) AS lastSeen
ORDER BY identifiers DESC, profile
LIMIT $limit
