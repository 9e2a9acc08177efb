"""Webhook subscriptions: an organisation's HTTPS endpoints that receive its domain events
(the outbox), signed, retried and recorded per delivery. See docs/webhooks.md."""
