// One round trip before planning: which messageIds are already stored (dedup of retries) and
// which identifier hashes are on the suppression list (erased people).
CALL () { UNWIND $ids AS id MATCH (e:Event {messageId: id}) RETURN collect(e.messageId) AS stored }
CALL () { UNWIND $hashes AS h MATCH (s:Suppression {hash: h}) RETURN collect(s.hash) AS suppressed }
RETURN stored, suppressed
