// The segment's newest feed sequence number (0 before any change): a run's target. Read from the
// segment, not the feed, because retention pruning removes old entries but never renumbers.
MATCH (s:Segment {id: $segment})
RETURN coalesce(s.seq, 0) AS head
