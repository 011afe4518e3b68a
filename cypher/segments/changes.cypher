// The feed of one segment after a sequence number, in order. The hint pins the (segmentId, seq)
// index: on a graph with few changes yet, statistics alone may pick a label scan.
MATCH (c:SegmentChange)
USING INDEX c:SegmentChange(segmentId, seq)
WHERE c.segmentId = $segment AND c.seq > $after
RETURN c.seq AS seq, c.profileId AS profileId, c.kind AS kind, c.at AS at
ORDER BY c.seq
LIMIT $limit
