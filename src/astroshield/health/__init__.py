"""Liveness, readiness and component health."""
