"""The customer portal: a customer's own subscriptions across merchants, by wallet or link."""
