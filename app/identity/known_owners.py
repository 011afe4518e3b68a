"""Which profile each identifier was last written to, remembered by the process that wrote it.

A visitor's session sends message after message with the same identifiers, already on one profile.
For such a group the store needs no snapshot to plan: nothing is merged, assigned or refused. It
sends one statement that confirms, under the identifiers' locks, that each still belongs to the
remembered profile and writes only then (cypher/ingest/confirm_owners.cypher), so an entry made stale
by a merge, split or erasure elsewhere costs a fallback to the snapshot, never a wrong write.
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

    def owners_of(self, keys: Iterable[str]) -> dict[str, str] | None:
        """The remembered profile of every key, or None if any is unknown."""
        found: dict[str, str] = {}
        with self._lock:
            owners = self._owners
            for key in keys:
                pid = owners.get(key)
                if pid is None:
                    return None
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
