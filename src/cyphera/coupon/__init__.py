"""Coupons (Stripe's shape) and the discounts they give subscriptions."""
