// An erased person's addresses (identifiers, sealed) under each of its profile ids, for the
// syncs that will send its exits.
UNWIND $ids AS id
MERGE (x:ErasedProfile {id: id})
SET x.sealed = $sealed, x.at = $at
