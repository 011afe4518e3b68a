// How many live profiles the export holds (the progress bar's total).
MATCH (p:Profile)
WHERE p.retiredAt IS NULL AND ($seenSince IS NULL OR p.lastSeen >= $seenSince)
RETURN count(p) AS n
