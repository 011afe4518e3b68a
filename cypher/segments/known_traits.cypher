UNWIND $names AS name
MATCH (k:TraitKey {name: name})
RETURN k.name AS name
