// For emails and phones already on a profile: the user ids each was seen with in the same
// message (the planner's shared-device rule tells a device-borne email from a claimed one).
UNWIND $keys AS key
MATCH (:Identifier {key: key})-[:SEEN_WITH]-(u:Identifier {type: 'user_id'})
RETURN key, collect(u.key) AS users
