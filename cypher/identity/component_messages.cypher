// The stored messages anchored on a component's identifiers that may carry two identifiers or more
// (an alias; a user id beside a device id; an email or phone in traits, context or properties): the
// replay extracts their identifiers exactly and drops the rest. Events hang off their strongest
// identifier, which is in the component whenever the message joined or was refused anything.
UNWIND $keys AS key
MATCH (e:Event {identifier: key})
WHERE e.type = 'alias' OR (e.userId IS NOT NULL AND e.anonymousId IS NOT NULL)
   OR e.traits CONTAINS '"email"' OR e.traits CONTAINS '"phone"'
   OR e.context CONTAINS '"email"' OR e.context CONTAINS '"phone"'
   OR e.properties CONTAINS '"email"' OR e.properties CONTAINS '"phone"'
RETURN e.messageId AS messageId, e.ts AS ts, e.source AS source, e.type AS type, e.userId AS userId,
       e.anonymousId AS anonymousId, e.previousId AS previousId, e.traits AS traits, e.context AS context,
       e.properties AS properties
