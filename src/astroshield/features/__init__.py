"""Feature flags: which optional modules are on, platform-wide and per organisation,
evaluated through the OpenFeature SDK with an in-process provider (``provider``)."""
