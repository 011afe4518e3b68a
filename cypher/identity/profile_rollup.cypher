// Re-derive a profile's event count, seen window, sources and trait-bearing events from its
// identifiers' events (after a split or a move took some of them away, or brought some).
MATCH (p:Profile {id: $profile})
CALL (p) {
  MATCH (p)<-[:BELONGS_TO]-(:Identifier)<-[:SEEN_AS]-(e:Event)
  RETURN count(e) AS events, min(e.ts) AS firstSeen, max(e.ts) AS lastSeen, collect(DISTINCT e.source) AS sources,
         collect(CASE WHEN e.type = 'identify' AND e.traits IS NOT NULL
                      THEN {traits: e.traits, ts: e.ts} END) AS traitEvents
}
RETURN events, firstSeen, lastSeen, sources, traitEvents
