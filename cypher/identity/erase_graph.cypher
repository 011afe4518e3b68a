// Identifiers (with their evidence, refusal and split edges), then the profiles.
UNWIND $keys AS key
MATCH (i:Identifier {key: key})
DETACH DELETE i
WITH count(*) AS identifiers
UNWIND $profiles AS pid
MATCH (p:Profile {id: pid})
DETACH DELETE p
RETURN identifiers, count(*) AS profiles
