// Auto-commit, in chunks: a profile may hold hundreds of thousands of events.
UNWIND $keys AS key
CALL (key) {
  MATCH (e:Event {identifier: key})
  DETACH DELETE e
} IN TRANSACTIONS OF 5000 ROWS
