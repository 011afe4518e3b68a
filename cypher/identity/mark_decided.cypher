// Profiles of a component resolved again in event-time order: the newest message a rule decided
// for on each, by the replay.
UNWIND $decided AS row
MATCH (p:Profile {id: row.id})
SET p.decidedAt = CASE WHEN p.decidedAt IS NULL OR row.at > p.decidedAt THEN row.at ELSE p.decidedAt END
