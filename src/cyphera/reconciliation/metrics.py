"""The reconciliation counter: ``cyphera_reconciliation_findings_total{network,kind}``, one per
difference found for the first time.

Counted in the process that reconciles (the worker, or an operator's ``cyphera reconcile``),
after the finding commits; the same difference found again does not count again.
"""

from __future__ import annotations

from prometheus_client import Counter

FINDINGS = Counter(
    "cyphera_reconciliation_findings",
    "Differences between the books and the chain found by reconciliation.",
    ["network", "kind"],
)
