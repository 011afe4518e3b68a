// Destination sync: destinations, syncs, run records, dead letters.
CREATE CONSTRAINT destination_id IF NOT EXISTS FOR (d:Destination) REQUIRE d.id IS UNIQUE;
CREATE CONSTRAINT sync_id IF NOT EXISTS FOR (s:Sync) REQUIRE s.id IS UNIQUE;
CREATE CONSTRAINT sync_run_id IF NOT EXISTS FOR (r:SyncRun) REQUIRE r.id IS UNIQUE;
CREATE CONSTRAINT dead_letter_id IF NOT EXISTS FOR (x:DeadLetter) REQUIRE x.id IS UNIQUE;
CREATE INDEX sync_destination IF NOT EXISTS FOR (s:Sync) ON (s.destinationId);
CREATE INDEX sync_next_run IF NOT EXISTS FOR (s:Sync) ON (s.nextRunAt);
// A sync's runs newest first; active runs for the stall check.
CREATE INDEX sync_run_sync IF NOT EXISTS FOR (r:SyncRun) ON (r.syncId, r.createdAt);
CREATE INDEX sync_run_status IF NOT EXISTS FOR (r:SyncRun) ON (r.status);
CREATE INDEX sync_run_sync_status IF NOT EXISTS FOR (r:SyncRun) ON (r.syncId, r.status);
CREATE INDEX sync_run_finished IF NOT EXISTS FOR (r:SyncRun) ON (r.finishedAt);
CREATE INDEX dead_letter_at IF NOT EXISTS FOR (x:DeadLetter) ON (x.at);
CREATE CONSTRAINT sync_tally_destination IF NOT EXISTS FOR (t:SyncTally) REQUIRE t.destination IS UNIQUE;
CREATE INDEX dead_letter_sync IF NOT EXISTS FOR (x:DeadLetter) ON (x.syncId, x.at);
// Erased people's addresses, sealed, kept only until syncs have sent their removal (feed retention).
CREATE CONSTRAINT erased_profile_id IF NOT EXISTS FOR (x:ErasedProfile) REQUIRE x.id IS UNIQUE;
CREATE INDEX erased_profile_at IF NOT EXISTS FOR (x:ErasedProfile) ON (x.at);
