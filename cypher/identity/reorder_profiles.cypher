// Profiles for groups of identifiers that no profile held before a component was resolved again.
UNWIND $profiles AS row
CREATE (:Profile {id: row.id, createdAt: row.createdAt, firstSeen: row.createdAt, lastSeen: row.createdAt, version: 0})
