"""Inbound over the bus: telemetry batches and CDMs consumed from NATS JetStream and
landed through the same service code as the HTTP endpoints (docs/inbound.md).

It sits above the domains (it calls ``telemetry.ingest`` and ``conjunction.service``) and
below the composition root, which starts it in the lifespan."""
