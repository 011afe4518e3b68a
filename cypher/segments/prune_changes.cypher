// Feed retention: entries older than $before go (auto-commit, in chunks). Numbering continues
// from the segment's seq, so a consumer that fell behind sees the gap.
MATCH (c:SegmentChange)
WHERE c.at < $before
CALL (c) {
  DELETE c
} IN TRANSACTIONS OF 10000 ROWS
