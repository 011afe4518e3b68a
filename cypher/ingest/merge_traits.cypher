// A merged profile's traits join the survivor's: per trait, the newest value wins. Traits are
// properties `t.<name>` with their event time in `tts.<name>` (names are data: dynamic access).
UNWIND $batch.merges AS m
MATCH (loser:Profile {id: m.loser}), (survivor:Profile {id: m.survivor})
UNWIND [k IN keys(loser) WHERE k STARTS WITH 'tts.'] AS tsKey
WITH loser, survivor, tsKey, 't.' + substring(tsKey, 4) AS valueKey
WHERE coalesce(survivor[tsKey], -1) < loser[tsKey]
SET survivor[valueKey] = loser[valueKey], survivor[tsKey] = loser[tsKey]
