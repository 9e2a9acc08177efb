"""Alerting: rules, their evaluation, alert lifecycle and notification dispatch."""
