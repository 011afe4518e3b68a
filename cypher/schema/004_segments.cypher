// Segments and their change feed. (segmentId, seq) is unique: a consumer reading the feed in seq
// order can rely on one change per number; the constraint's index serves changes_since.
CREATE CONSTRAINT segment_id IF NOT EXISTS FOR (s:Segment) REQUIRE s.id IS UNIQUE;
CREATE CONSTRAINT segment_change_seq IF NOT EXISTS FOR (c:SegmentChange) REQUIRE (c.segmentId, c.seq) IS UNIQUE;
// Retention pruning of old feed entries.
CREATE INDEX segment_change_at IF NOT EXISTS FOR (c:SegmentChange) ON (c.at);
