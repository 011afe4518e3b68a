"""Sources that are not Segment SDKs: vendor webhooks mapped onto the same ingest path."""
