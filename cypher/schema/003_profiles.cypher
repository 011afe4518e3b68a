// Profile search: identifier value prefixes ('ann@', a user id prefix) seek this range index;
// key prefixes ('email:ann') use the identifier_key constraint's index.
CREATE INDEX identifier_value IF NOT EXISTS FOR (i:Identifier) ON (i.value);
// Trait value search: traits are stored as a JSON string, so a word index finds the candidate
// events and the query keeps only exact value matches. It covers identify events a worker has
// moved from :TraitsPending to :TraitsIndexed, in batches (see app/profiles/trait_index.py).
CREATE FULLTEXT INDEX identify_traits IF NOT EXISTS FOR (e:TraitsIndexed) ON EACH [e.traits]
  OPTIONS {indexConfig: {`fulltext.analyzer`: 'standard-no-stop-words'}};
// A timeline filtered by event name: per identifier, newest first, index-backed (without it a rare
// name means reading every event of a big profile). One more entry per event written.
CREATE INDEX event_identifier_event_ts IF NOT EXISTS FOR (e:Event) ON (e.identifier, e.event, e.ts);
// The same for a timeline filtered by type (screen, identify… are a few percent of a profile's events).
CREATE INDEX event_identifier_type_ts IF NOT EXISTS FOR (e:Event) ON (e.identifier, e.type, e.ts);
