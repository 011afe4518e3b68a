// How many events the export's window and filters hold (the progress bar's total).
MATCH (e:Event)
WHERE e.ts >= $from AND e.ts < $until
  AND ($source IS NULL OR e.source = $source)
  AND ($types IS NULL OR e.type IN $types)
RETURN count(e) AS n
