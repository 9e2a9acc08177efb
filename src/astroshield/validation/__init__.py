"""Scoring of the library's results against ground truth.

Used by benchmarks and tests, never by the service: it imports ``astroshield.astro`` only (no
web, no database).
"""
