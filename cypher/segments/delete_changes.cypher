// Auto-commit, in chunks: a large segment's feed may hold millions of entries.
MATCH (c:SegmentChange {segmentId: $id})
CALL (c) {
  DELETE c
} IN TRANSACTIONS OF 10000 ROWS
