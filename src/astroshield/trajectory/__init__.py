"""Trajectory: ephemerides (SGP4 or two-body), orbit analysis and ground tracks."""
