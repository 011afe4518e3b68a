// Retire each loser into its survivor: rewrite the loser's BELONGS_TO edges (O(identifiers));
// events hang off identifiers and are never touched.
UNWIND $batch.merges AS m
MATCH (loser:Profile {id: m.loser}), (survivor:Profile {id: m.survivor})
CREATE (loser)-[:MERGED_INTO {at: m.ts, messageId: m.messageId, source: m.source, reason: m.reason}]->(survivor)
SET loser.retiredAt = m.ts, loser.n_user_id = 0, loser.n_email = 0, loser.n_phone = 0, loser.n_anonymous_id = 0,
    survivor.eventCount = coalesce(survivor.eventCount, 0) + coalesce(loser.eventCount, 0), loser.eventCount = 0,
    survivor.sources = coalesce(survivor.sources, []) + [s IN coalesce(loser.sources, []) WHERE NOT s IN coalesce(survivor.sources, [])],
    survivor.splitBlocks = coalesce(survivor.splitBlocks, false) OR coalesce(loser.splitBlocks, false),
    survivor.decidedAt = CASE WHEN loser.decidedAt > coalesce(survivor.decidedAt, -1) THEN loser.decidedAt
                              ELSE survivor.decidedAt END,
    survivor.firstSeen = CASE WHEN loser.firstSeen < survivor.firstSeen THEN loser.firstSeen ELSE survivor.firstSeen END,
    survivor.lastSeen = CASE WHEN loser.lastSeen > survivor.lastSeen THEN loser.lastSeen ELSE survivor.lastSeen END
WITH loser, survivor
MATCH (i:Identifier)-[r:BELONGS_TO]->(loser)
DELETE r
CREATE (i)-[:BELONGS_TO]->(survivor)
