"""Webhook endpoints: where a workspace's events are delivered, and the secrets that sign them."""
