CREATE INDEX identifier_type IF NOT EXISTS FOR (i:Identifier) ON (i.type);
CREATE INDEX event_ts IF NOT EXISTS FOR (e:Event) ON (e.ts);
CREATE INDEX profile_last_seen IF NOT EXISTS FOR (p:Profile) ON (p.lastSeen);
// A profile's timeline: per identifier, newest first, index-backed.
CREATE INDEX event_identifier_ts IF NOT EXISTS FOR (e:Event) ON (e.identifier, e.ts);
// Earlier versions indexed Event.event and Event.type alone. No query needs them (names and types
// are read per identifier, through the composite indexes), every event written paid for both, and
// with event_type the top-events query seeked every track event ever instead of its time window.
DROP INDEX event_name IF EXISTS;
DROP INDEX event_type IF EXISTS;
