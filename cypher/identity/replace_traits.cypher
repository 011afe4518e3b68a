// Drop every trait property of the profile, then set the re-derived ones (a profile without
// events keeps its seen window).
MATCH (p:Profile {id: $profile})
WITH p, [k IN keys(p) WHERE k STARTS WITH 't.' OR k STARTS WITH 'tts.'] AS old
FOREACH (k IN old | SET p[k] = null)
SET p.eventCount = $events, p.sources = $sources,
    p.firstSeen = coalesce($firstSeen, p.firstSeen), p.lastSeen = coalesce($lastSeen, p.lastSeen)
WITH p
UNWIND $traits AS t
SET p['t.' + t.name] = t.value, p['tts.' + t.name] = t.ts
