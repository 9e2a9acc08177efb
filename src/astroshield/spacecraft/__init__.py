"""spacecraft domain."""
