// Live profiles holding more identifiers than a person plausibly has, or touching a join the
// rules refused again and again (a shared device). Thresholds are inclusive minimums.
CALL () {
  MATCH (p:Profile)
  WHERE p.retiredAt IS NULL
    AND (coalesce(p.n_anonymous_id, 0) >= $minAnonymous OR coalesce(p.n_email, 0) >= $minEmails
         OR coalesce(p.n_phone, 0) >= $minPhones)
  RETURN p
  UNION
  MATCH (:Identifier)-[r:REFUSED_WITH]-(:Identifier)-[:BELONGS_TO]->(p:Profile)
  WHERE r.count >= $minRefusals
  RETURN p
}
CALL (p) {
  OPTIONAL MATCH (p)<-[:BELONGS_TO]-(:Identifier)-[r:REFUSED_WITH]-(:Identifier)
  RETURN coalesce(max(r.count), 0) AS maxRefusedCount, count(DISTINCT r) AS refusedJoins
}
WITH p, maxRefusedCount, refusedJoins,
     coalesce(p.n_user_id, 0) AS userIds, coalesce(p.n_anonymous_id, 0) AS anonymousIds,
     coalesce(p.n_email, 0) AS emails, coalesce(p.n_phone, 0) AS phones
WITH p, maxRefusedCount, refusedJoins, userIds, anonymousIds, emails, phones,
     CASE WHEN anonymousIds >= $minAnonymous THEN 1 ELSE 0 END + CASE WHEN emails >= $minEmails THEN 1 ELSE 0 END
       + CASE WHEN phones >= $minPhones THEN 1 ELSE 0 END
       + CASE WHEN maxRefusedCount >= $minRefusals THEN 1 ELSE 0 END AS rulesBroken
RETURN p.id AS profileId, userIds, anonymousIds, emails, phones, maxRefusedCount, refusedJoins,
       p.firstSeen AS firstSeen, p.lastSeen AS lastSeen
ORDER BY rulesBroken DESC, anonymousIds + emails + phones DESC, maxRefusedCount DESC, profileId
LIMIT $limit
