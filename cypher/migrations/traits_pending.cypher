// From the full-text index on every event's traits (event_traits) to the batched one: identify
// events with traits not yet in the new index wait for the worker, as new ones do. Re-runnable.
MATCH (e:Event)
WHERE e.type = 'identify' AND e.traits IS NOT NULL AND NOT e:TraitsIndexed AND NOT e:TraitsPending
CALL (e) { SET e:TraitsPending } IN TRANSACTIONS OF 10000 ROWS
