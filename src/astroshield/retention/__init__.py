"""Data retention: per-class policies enforced in batches, with a dry-run report."""
