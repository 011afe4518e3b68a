// Evidence newer than a split re-merged these profiles: the split's blocks inside them are spent.
UNWIND $batch.liftBlocks AS id
MATCH (p:Profile {id: id})<-[:BELONGS_TO]-(:Identifier)-[b:SPLIT_APART]-(:Identifier)-[:BELONGS_TO]->(p)
DELETE b
