"""Domain events: a CloudEvents 1.0 envelope written to a transactional outbox in the
same transaction as the change that caused it, and a relay that publishes the outbox to
NATS JetStream in order per subject (see ``docs/events.md``).

``service.emit`` is what the other domains call; ``relay`` and ``nats`` run in the
service's lifespan; ``catalogue`` names the event types and their JSON Schemas (files in
``schemas/``)."""
