"""CCDM: maneuver detection, RPO proximity, pattern of life and intent."""
