"""Spacecraft registry: an organisation's spacecraft and their reported status."""
