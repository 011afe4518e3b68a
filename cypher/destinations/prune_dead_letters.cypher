// Dead letters past their retention (set only by choice: a letter is the only record of an item
// to send again, so pruning it abandons that retry), a chunk at a time.
MATCH (x:DeadLetter)
USING INDEX x:DeadLetter(at)
WHERE x.at < $before
WITH x LIMIT $limit
DELETE x
RETURN count(x) AS deleted
