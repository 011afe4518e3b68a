// Profiles a rule refused a join for or claimed an identifier for: a late message that meets one
// has its component resolved again in event-time order (app/identity/event_order.py).
UNWIND $batch.contested AS pid
MATCH (p:Profile {id: pid})
SET p.contested = true
