"""The networks and tokens the platform bills on, as the API shows them (read-only)."""
