// Profiles a rule refused a join or claimed an identifier for: the newest such message's time. A
// message with two identifiers or more that is no newer, met there later, has its component
// resolved again in event-time order (app/identity/event_order.py).
UNWIND $batch.decided AS row
MATCH (p:Profile {id: row.id})
SET p.decidedAt = CASE WHEN p.decidedAt IS NULL OR row.at > p.decidedAt THEN row.at ELSE p.decidedAt END
