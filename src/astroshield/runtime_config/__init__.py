"""Runtime configuration: settings an administrator changes without a restart."""
