"""Reconciliation: the books equal the chain (`cyphera.reconciliation.service`).

- `onchain` — the transfers made through our delegations, and the rule that says which those are.
- `compare` — matching them with our payments (pure).
- `repository` — the SQL: payments in a range, who may be paid, findings recorded once.
- `service` — the periodic job per network and the operator's range; alarms, never corrections.
- `cli` — ``cyphera reconcile``.
"""
