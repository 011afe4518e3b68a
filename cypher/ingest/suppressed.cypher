UNWIND $hashes AS h
MATCH (s:Suppression {hash: h})
RETURN s.hash AS hash
