"""The audit log: an append-only, HMAC-chained record of changes, its signed checkpoints,
its keys and the verification that finds edits, deletions and truncation."""
