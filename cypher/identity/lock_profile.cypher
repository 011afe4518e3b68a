// Take the profile's write lock before re-deriving it, so a concurrent ingest commit waits rather
// than setting a trait this transaction then overwrites from older reads.
MATCH (p:Profile {id: $profile})
SET p.rederivedAt = $now
