// Events hang off the identifier they were seen with, and carry its key (`identifier`, immutable
// like the edge) so a profile's timeline is a few composite-index seeks. Plain CREATE: the batch
// was already checked for stored messageIds, and the unique constraint turns a concurrent
// writer's duplicate into a ConstraintError, on which the store re-runs the transaction.
// An identify event with traits is labelled for the trait-search index, which a worker fills in
// batches (a full-text update in the commit path cost milliseconds of Neo4j CPU per transaction).
UNWIND $batch.events AS ev
MATCH (i:Identifier {key: ev.identifier})
CREATE (e:Event)-[:SEEN_AS]->(i)
SET e = ev.props, e.identifier = ev.identifier
FOREACH (_ IN CASE WHEN ev.props.type = 'identify' AND ev.props.traits IS NOT NULL THEN [1] ELSE [] END |
  SET e:TraitsPending)
