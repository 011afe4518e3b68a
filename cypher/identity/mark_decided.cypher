// The live profiles of a component resolved again in event-time order: the newest message a rule
// decided for there, by the replay.
UNWIND $profiles AS pid
MATCH (p:Profile {id: pid})
SET p.decidedAt = CASE WHEN p.decidedAt IS NULL OR $at > p.decidedAt THEN $at ELSE p.decidedAt END
