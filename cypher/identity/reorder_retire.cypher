// Profiles a component's resolution in event-time order left without identifiers: retired into the
// profile that took most of them.
UNWIND $retired AS m
MATCH (loser:Profile {id: m.loser}), (survivor:Profile {id: m.survivor})
CREATE (loser)-[:MERGED_INTO {at: $at, messageId: $messageId, source: $source, reason: 'event-order'}]->(survivor)
SET loser.retiredAt = $at, loser.n_user_id = 0, loser.n_email = 0, loser.n_phone = 0, loser.n_anonymous_id = 0,
    loser.eventCount = 0
