"""Figures for the merchant's dashboard, computed in SQL from subscriptions, invoices, payments."""
