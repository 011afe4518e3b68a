// Move the chosen identifiers (and so their events) to a new profile, fix both profiles'
// counts, record the split, and block the old evidence between the two sides from re-merging.
MATCH (p:Profile {id: $profile})
CREATE (n:Profile {id: $newProfile, createdAt: $at, firstSeen: p.firstSeen, lastSeen: p.lastSeen, version: 0,
                   splitBlocks: true})
CREATE (n)-[:SPLIT_FROM {at: $at, identifiers: $moved, reason: $reason}]->(p)
SET p.splitBlocks = true, p += $keptCounts, n += $movedCounts
WITH p, n
UNWIND $moved AS key
MATCH (i:Identifier {key: key})-[r:BELONGS_TO]->(p)
DELETE r
CREATE (i)-[:BELONGS_TO]->(n)
WITH DISTINCT p, n
UNWIND $moved AS movedKey
UNWIND $kept AS keptKey
MATCH (a:Identifier {key: movedKey}), (b:Identifier {key: keptKey})
MERGE (a)-[s:SPLIT_APART]-(b)
SET s.at = $at, s.reason = $reason
