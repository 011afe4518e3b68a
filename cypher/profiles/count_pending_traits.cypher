// Identify events still waiting for the trait-search index (a label count: read from the count store).
MATCH (e:TraitsPending)
RETURN count(e) AS pending
