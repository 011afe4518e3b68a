// Re-derive a profile's event count, sources and trait-bearing events from its identifiers'
// events (after a split moved some of them away).
MATCH (p:Profile {id: $profile})
CALL (p) {
  MATCH (p)<-[:BELONGS_TO]-(:Identifier)<-[:SEEN_AS]-(e:Event)
  RETURN count(e) AS events, collect(DISTINCT e.source) AS sources,
         collect(CASE WHEN e.type = 'identify' AND e.traits IS NOT NULL
                      THEN {traits: e.traits, ts: e.ts} END) AS traitEvents
}
RETURN events, sources, traitEvents
