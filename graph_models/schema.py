"""The graph schema as code: every node label and relationship type the service writes, what
each means, and its key. cypher/ is checked against it (tests/test_graph_models.py), so a typo'd
label in a query file fails a test instead of silently matching nothing."""
from __future__ import annotations

NODE_LABELS: dict[str, str] = {
    "Identifier": "one normalised identifier, key 'type:value' (unique)",
    "Profile": "a person; live while retiredAt is null; traits as t.<name> with times in tts.<name>; "
               "decidedAt: the newest message a rule refused a join or claimed an identifier for, there",
    "Event": "a stored Segment message, messageId unique; hangs off the identifier it was seen with",
    "TraitsPending": "an identify Event with traits, not yet in the trait-search index",
    "TraitsIndexed": "an identify Event with traits in the trait-search index (identify_traits)",
    "Suppression": "an erased identifier, as a salted hash (unique)",
    "TraitKey": "a trait name seen at ingest: the allow-list for segment fields",
    "Segment": "an audience definition with its member count",
    "SegmentChange": "one entry or exit, numbered per segment: the feed syncs read",
    "Destination": "a configured destination, secrets sealed",
    "Sync": "segment + destination + schedule + field mapping, with its cursor",
    "SyncRun": "one run of a sync: status, counts, errors, duration",
    "DeadLetter": "an item a destination refused",
    "ErasedProfile": "an erased person's identifiers, sealed, until syncs have sent the removal (feed retention)",
    "SyncTally": "running totals of finished runs and items per destination type (the metrics' counters)",
}

RELATIONSHIP_TYPES: dict[str, str] = {
    "BELONGS_TO": "(:Identifier)->(:Profile): exactly one live profile per identifier",
    "SEEN_AS": "(:Event)->(:Identifier): the identifier an event was seen with; never moves",
    "SEEN_WITH": "(:Identifier)->(:Identifier): evidence, the first message that joined two identifiers",
    "REFUSED_WITH": "(:Identifier)->(:Identifier): a join the rules refused, with the reason",
    "MERGED_INTO": "(:Profile)->(:Profile): a retired profile points to its survivor (reason evidence, "
                   "evidence-after-split, or event-order: emptied by a replay in event-time order)",
    "SPLIT_FROM": "(:Profile)->(:Profile): a profile made by a split, from the one it left",
    "SPLIT_APART": "(:Identifier)-(:Identifier): evidence up to the split may not re-merge these",
    "MOVED_FROM": "(:Identifier)->(:Profile): an identifier claimed off a profile (shared devices), or moved "
                  "by a replay of its component in event-time order (reason event-order)",
    "IN_SEGMENT": "(:Profile)->(:Segment): current membership",
}

UNIQUE_KEYS: dict[str, tuple[str, ...]] = {
    "Identifier": ("key",),
    "Profile": ("id",),
    "Event": ("messageId",),
    "Suppression": ("hash",),
    "TraitKey": ("name",),
    "Segment": ("id",),
    "SegmentChange": ("segmentId", "seq"),
    "ErasedProfile": ("id",),
    "SyncTally": ("destination",),
}
