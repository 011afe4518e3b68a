// Dead letters past the retention, a chunk at a time (a retry reads profiles as they are now, so
// an old letter is only a record of a refusal long past).
MATCH (x:DeadLetter)
WHERE x.at < $before
WITH x LIMIT $limit
DELETE x
RETURN count(x) AS deleted
