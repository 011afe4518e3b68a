// The sealed addresses of erased profiles among these ids.
UNWIND $ids AS id
MATCH (x:ErasedProfile {id: id})
RETURN x.id AS id, x.sealed AS sealed
