// An erased person's dead letters lose the addresses and the vendor's error text they carried (a
// retry of one reads the erasure's seal instead).
MATCH (x:DeadLetter)
WHERE x.profileId IN $ids
SET x.fields = '{}', x.error = 'the person was erased; the addresses and the error text were removed'
