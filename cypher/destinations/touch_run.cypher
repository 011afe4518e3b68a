// A stalled run was re-queued: its next stall check waits a full lock TTL again, so a backlog in the
// queue does not collect one duplicate message per dispatcher tick.
MATCH (r:SyncRun {id: $id})
SET r.heartbeatAt = $now
