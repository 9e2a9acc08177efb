"""Telemetry: parameter dictionary, archive ingest (JSON and CCSDS packets), queries."""
