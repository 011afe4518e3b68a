// Suppression list: keyed by a salted hash, never the identifier in clear.
UNWIND $hashes AS h
MERGE (s:Suppression {hash: h})
  ON CREATE SET s.at = $at
