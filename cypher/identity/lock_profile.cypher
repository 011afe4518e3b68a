// Take the profile's write lock before re-deriving it, so a concurrent ingest commit waits rather
// than setting a trait this transaction then overwrites from older reads.
// No row when the profile was erased or merged away meanwhile.
MATCH (p:Profile {id: $profile})
WHERE p.retiredAt IS NULL
SET p.rederivedAt = $now
RETURN p.id AS id
