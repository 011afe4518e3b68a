// The segment and destination are write-locked first, as deleting either takes their lock before it
// checks for syncs: a delete cannot pass between the existence checks and this create. No row when
// either is gone.
MATCH (seg:Segment {id: $props.segmentId}), (d:Destination {id: $props.destinationId})
SET seg.lockedAt = $props.createdAt, d.lockedAt = $props.createdAt
CREATE (s:Sync)
SET s = $props
RETURN s {.*} AS s
