// Whole-graph totals for the dashboard: live profiles, identifiers, events.
CALL { MATCH (p:Profile) WHERE p.retiredAt IS NULL RETURN count(p) AS profiles }
CALL { MATCH (i:Identifier) RETURN count(i) AS identifiers }
CALL { MATCH (e:Event) RETURN count(e) AS events }
RETURN profiles, identifiers, events
