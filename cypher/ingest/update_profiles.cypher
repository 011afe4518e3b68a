// Identifier counts (absolute: the profiles are locked; a row without them, from a group written on
// known owners, added no identifier), the seen window, event count, sources.
UNWIND $batch.profileUpdates AS row
MATCH (p:Profile {id: row.id})
SET p.n_user_id = coalesce(row.n_user_id, p.n_user_id), p.n_email = coalesce(row.n_email, p.n_email),
    p.n_phone = coalesce(row.n_phone, p.n_phone), p.n_anonymous_id = coalesce(row.n_anonymous_id, p.n_anonymous_id),
    p.eventCount = coalesce(p.eventCount, 0) + row.events,
    p.sources = coalesce(p.sources, []) + [s IN row.sources WHERE NOT s IN coalesce(p.sources, [])],
    p.firstSeen = CASE WHEN row.firstSeen IS NOT NULL AND row.firstSeen < p.firstSeen THEN row.firstSeen ELSE p.firstSeen END,
    p.lastSeen = CASE WHEN row.lastSeen IS NOT NULL AND row.lastSeen > p.lastSeen THEN row.lastSeen ELSE p.lastSeen END
