"""All SQL of telemetry: the archive, its retention and its limit sets."""
