// Identifier counts of profiles whose identifiers moved, from their BELONGS_TO edges.
UNWIND $profiles AS pid
MATCH (p:Profile {id: pid})
CALL (p) {
  OPTIONAL MATCH (p)<-[:BELONGS_TO]-(i:Identifier)
  RETURN count(CASE i.type WHEN 'user_id' THEN 1 END) AS users, count(CASE i.type WHEN 'email' THEN 1 END) AS emails,
         count(CASE i.type WHEN 'phone' THEN 1 END) AS phones,
         count(CASE i.type WHEN 'anonymous_id' THEN 1 END) AS devices
}
SET p.n_user_id = users, p.n_email = emails, p.n_phone = phones, p.n_anonymous_id = devices
