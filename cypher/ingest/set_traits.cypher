// Newest value wins per trait, whatever order messages arrive in. A null value unsets the trait
// but keeps its time, so an older value arriving late cannot bring it back.
UNWIND $batch.traits AS row
MATCH (p:Profile {id: row.profile})
WITH p, row, 'tts.' + row.name AS tsKey, 't.' + row.name AS valueKey
WHERE coalesce(p[tsKey], -1) <= row.ts
SET p[valueKey] = row.value, p[tsKey] = row.ts
