// A batch of identify events into the trait-search index: one full-text update for all of them.
MATCH (e:TraitsPending)
WITH e LIMIT $chunk
REMOVE e:TraitsPending
SET e:TraitsIndexed
RETURN count(e) AS indexed
