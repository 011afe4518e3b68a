// Drop every trait property of the profile, then set the re-derived ones.
MATCH (p:Profile {id: $profile})
WITH p, [k IN keys(p) WHERE k STARTS WITH 't.' OR k STARTS WITH 'tts.'] AS old
FOREACH (k IN old | SET p[k] = null)
SET p.eventCount = $events, p.sources = $sources
WITH p
UNWIND $traits AS t
SET p['t.' + t.name] = t.value, p['tts.' + t.name] = t.ts
