"""Background jobs that run once across replicas, with their record for administrators."""
