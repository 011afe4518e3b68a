// Which of these messageIds are already stored (dedup of retries).
UNWIND $ids AS id
MATCH (e:Event {messageId: id})
RETURN e.messageId AS messageId
