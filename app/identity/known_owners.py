"""Which profile each identifier was last written to, remembered by the process that wrote it.

A visitor's session sends message after message with the same identifiers, already on one profile; a
new visitor's first messages bring identifiers nobody has seen. For a group made of such messages
the store needs no snapshot to plan: a returning visitor's messages merge, assign and refuse
nothing, and a new visitor's are planned as on an empty graph. It sends one statement that confirms,
under the identifiers' locks, that each remembered identifier still belongs to its profile and each
unseen one belongs to none, and writes only then (cypher/ingest/snapshot.cypher with the writes
after it); otherwise the same statement answers the snapshot, so an entry made stale by a merge,
split or erasure elsewhere, or an identifier another process wrote, costs planning from that
snapshot, never a wrong write.
"""
from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from itertools import islice

# About 150 bytes an entry (a key and a shared profile id): the default holds some 70,000 people's
# identifiers in about 30 MB.
DEFAULT_CAPACITY = 200_000


class KnownOwners:
    """identifier key -> profile id, bounded: the oldest entries go first. Shared by the writers'
    threads; 0 capacity turns it off."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY):
        self.capacity = capacity
        self._owners: dict[str, str] = {}
        self._lock = threading.Lock()

    def owners_among(self, keys: Iterable[str]) -> dict[str, str]:
        """The remembered profile of each key that has one (the others were never seen here, or
        were forgotten)."""
        found: dict[str, str] = {}
        with self._lock:
            owners = self._owners
            for key in keys:
                pid = owners.get(key)
                if pid is not None:
                    found[key] = pid
        return found

    def remember(self, owner: Mapping[str, str]) -> None:
        """Entries from a committed write (every identifier of the group -> its live profile)."""
        if not self.capacity or not owner:
            return
        with self._lock:
            owners = self._owners
            for key, pid in owner.items():
                owners.pop(key, None)  # re-inserted at the young end
                owners[key] = pid
            excess = len(owners) - self.capacity
            if excess > 0:
                for key in list(islice(owners, excess)):
                    del owners[key]

    def __len__(self) -> int:
        return len(self._owners)
