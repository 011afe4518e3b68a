// How many live profiles a filter selects, and a few of their ids; nothing is saved.
MATCH (p:Profile)
WHERE p.retiredAt IS NULL AND /*filter*/ true
WITH collect(p.id) AS ids
RETURN size(ids) AS count, ids[..$sample] AS sample
