CREATE INDEX identifier_type IF NOT EXISTS FOR (i:Identifier) ON (i.type);
CREATE INDEX event_ts IF NOT EXISTS FOR (e:Event) ON (e.ts);
CREATE INDEX event_name IF NOT EXISTS FOR (e:Event) ON (e.event);
CREATE INDEX event_type IF NOT EXISTS FOR (e:Event) ON (e.type);
CREATE INDEX profile_last_seen IF NOT EXISTS FOR (p:Profile) ON (p.lastSeen);
// A profile's timeline: per identifier, newest first, index-backed.
CREATE INDEX event_identifier_ts IF NOT EXISTS FOR (e:Event) ON (e.identifier, e.ts);
