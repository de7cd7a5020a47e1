"""The REST API edge: app factory, router wiring, error mapping, middleware, idempotency."""
