// Trait names seen so far: the allow-list segment filters check their fields against.
UNWIND $batch.traitNames AS name
MERGE (k:TraitKey {name: name})
  ON CREATE SET k.firstSeen = $batch.traitsSeenAt
