// Shared devices: anonymous ids whose profile holds one user id while another user id was refused
// a join with them (the family computer the one-userId rule keeps from fusing two people).
// Set first:  :param limit => 25
MATCH (device:Identifier {type: 'anonymous_id'})-[r:REFUSED_WITH]-(other:Identifier {type: 'user_id'})
MATCH (device)-[:BELONGS_TO]->(p:Profile)<-[:BELONGS_TO]-(owner:Identifier {type: 'user_id'})
WHERE owner <> other
MATCH path = (other)-[r]-(device)-[:BELONGS_TO]->(p)<-[:BELONGS_TO]-(owner)
RETURN path, device.value AS device, owner.value AS ownerUserId, other.value AS refusedUserId,
       r.count AS refusals, datetime({epochMillis: r.lastAt}) AS lastRefusedAt
ORDER BY refusals DESC, device
LIMIT $limit
