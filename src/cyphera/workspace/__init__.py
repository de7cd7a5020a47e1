"""Workspaces (the merchant's tenant) and their payout addresses."""
