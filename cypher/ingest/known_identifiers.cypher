UNWIND $batch.keys AS key
MATCH (i:Identifier {key: key})
RETURN i.key AS key
