MATCH (e:Event {messageId: $messageId})-[:SEEN_AS]->(i:Identifier)
OPTIONAL MATCH (i)-[:BELONGS_TO]->(p:Profile)
RETURN properties(e) AS event, i.key AS identifier, p.id AS profileId
