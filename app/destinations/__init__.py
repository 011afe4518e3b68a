"""Destination sync: destinations and their secrets, syncs (segment -> destination on a schedule,
with a field mapping), diff-based runs with cursors, rate limits, retries and dead letters."""
