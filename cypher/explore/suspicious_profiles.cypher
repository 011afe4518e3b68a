// Live profiles to look at by hand: more than 10 anonymous ids, more than 3 emails or phones, or a
// join the rules refused 3 times or more (edit the numbers to taste). The same rules as
// GET /v1/reports/suspicious-profiles and `cdp report suspicious`.
// Set first:  :param limit => 25
MATCH (p:Profile)
WHERE p.retiredAt IS NULL
OPTIONAL MATCH (p)<-[:BELONGS_TO]-(:Identifier)-[r:REFUSED_WITH]-(:Identifier)
WITH p, coalesce(max(r.count), 0) AS maxRefusedCount, count(DISTINCT r) AS refusedJoins
WHERE coalesce(p.n_anonymous_id, 0) > 10 OR coalesce(p.n_email, 0) > 3 OR coalesce(p.n_phone, 0) > 3
   OR maxRefusedCount >= 3
RETURN p.id AS profile, coalesce(p.n_user_id, 0) AS userIds, coalesce(p.n_anonymous_id, 0) AS anonymousIds,
       coalesce(p.n_email, 0) AS emails, coalesce(p.n_phone, 0) AS phones, maxRefusedCount, refusedJoins
ORDER BY anonymousIds + emails + phones DESC, maxRefusedCount DESC, profile
LIMIT $limit
