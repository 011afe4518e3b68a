UNWIND $profiles AS row
CREATE (:Profile {id: row.id, createdAt: row.createdAt, firstSeen: row.createdAt, lastSeen: row.createdAt, version: 0})
