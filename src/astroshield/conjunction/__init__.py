"""conjunction domain: events, CDM history, screening jobs and their alerts."""
