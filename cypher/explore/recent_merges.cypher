// The latest merges, drawn: (retired profile)-[:MERGED_INTO]->(survivor) with when, which message
// and why. Open a survivor with person_graph.cypher to see the identifiers behind it.
// Set first:  :param limit => 25
MATCH path = (loser:Profile)-[m:MERGED_INTO]->(survivor:Profile)
RETURN path, datetime({epochMillis: m.at}) AS at, m.messageId AS messageId, m.source AS source,
       m.reason AS reason, loser.id AS retired, survivor.id AS into
ORDER BY m.at DESC
LIMIT $limit
