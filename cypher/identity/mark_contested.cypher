// Every live profile of a component resolved again in event-time order: rules decided there.
UNWIND $profiles AS pid
MATCH (p:Profile {id: pid})
SET p.contested = true
