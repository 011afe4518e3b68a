// One node per normalised identifier; concurrent writers meet on the same node.
CREATE CONSTRAINT identifier_key IF NOT EXISTS FOR (i:Identifier) REQUIRE i.key IS UNIQUE;
CREATE CONSTRAINT profile_id IF NOT EXISTS FOR (p:Profile) REQUIRE p.id IS UNIQUE;
// messageId dedup across retries and restarts.
CREATE CONSTRAINT event_message_id IF NOT EXISTS FOR (e:Event) REQUIRE e.messageId IS UNIQUE;
// Erased identifiers, as salted hashes.
CREATE CONSTRAINT suppression_hash IF NOT EXISTS FOR (s:Suppression) REQUIRE s.hash IS UNIQUE;
CREATE CONSTRAINT trait_key_name IF NOT EXISTS FOR (k:TraitKey) REQUIRE k.name IS UNIQUE;
