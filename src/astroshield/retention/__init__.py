"""Data retention: the policies the domains publish, run in batches, with a dry-run
report and an audit record of every real run."""
