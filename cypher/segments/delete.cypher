// The segment and its memberships; its feed is removed afterwards, in chunks (segments/delete_changes).
MATCH (s:Segment {id: $id})
DETACH DELETE s
RETURN count(*) AS deleted
