"""The public space-object catalog: every element set per object over time."""
