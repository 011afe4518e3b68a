// Identity invariants; every count must be 0. Operators can run this in Neo4j Browser.
CALL () { MATCH (i:Identifier) WHERE COUNT { (i)-[:BELONGS_TO]->() } <> 1 RETURN count(i) AS identifiers_without_one_profile }
CALL () { MATCH (i:Identifier)-[:BELONGS_TO]->(p:Profile) WHERE p.retiredAt IS NOT NULL RETURN count(i) AS identifiers_on_retired_profiles }
CALL () { MATCH (p:Profile) WHERE p.retiredAt IS NULL AND NOT EXISTS { (p)<-[:BELONGS_TO]-() } RETURN count(p) AS live_profiles_without_identifiers }
CALL () { MATCH (e:Event) WHERE COUNT { (e)-[:SEEN_AS]->() } <> 1 RETURN count(e) AS events_not_on_one_identifier }
CALL () { MATCH (p:Profile) WHERE p.retiredAt IS NULL
          WITH p, COUNT { (p)<-[:BELONGS_TO]-(:Identifier {type: 'user_id'}) } AS n
          WHERE n <> coalesce(p.n_user_id, 0) RETURN count(p) AS profiles_with_stale_counts }
RETURN identifiers_without_one_profile, identifiers_on_retired_profiles, live_profiles_without_identifiers,
       events_not_on_one_identifier, profiles_with_stale_counts
