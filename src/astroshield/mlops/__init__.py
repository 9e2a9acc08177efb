"""The ML model registry, the served models (hot swap across replicas) and the /ml endpoints."""
