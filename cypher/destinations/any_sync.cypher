// Whether any sync exists: then an erased person's exits may still have to reach a destination
// (a member now, or one whose exit no run has sent yet, or whose removal was refused).
RETURN EXISTS { MATCH (:Sync) } AS synced
