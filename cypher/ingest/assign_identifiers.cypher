UNWIND $batch.assignments AS row
MATCH (i:Identifier {key: row.key}), (p:Profile {id: row.profile})
CREATE (i)-[:BELONGS_TO]->(p)
