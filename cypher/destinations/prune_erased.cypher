// Erased people's sealed addresses go with the feed entries they were kept for.
MATCH (x:ErasedProfile)
WHERE x.at < $before
DELETE x
