// Profile search: identifier value prefixes ('ann@', a user id prefix) seek this range index;
// key prefixes ('email:ann') use the identifier_key constraint's index.
CREATE INDEX identifier_value IF NOT EXISTS FOR (i:Identifier) ON (i.value);
// Trait value search: traits are stored as a JSON string, so a word index finds the candidate
// events and the query keeps only exact value matches. Only events that carry traits are indexed.
CREATE FULLTEXT INDEX event_traits IF NOT EXISTS FOR (e:Event) ON EACH [e.traits]
  OPTIONS {indexConfig: {`fulltext.analyzer`: 'standard-no-stop-words'}};
