"""The dead-letter counter: ``cyphera_dead_letters_total{task}``, one per dead letter created.

Counted in the process that captures (the worker), after the dead letter commits. Exposing it
(``/metrics``) is the metrics endpoint's business; a periodic task's further failures, which join
its open dead letter, do not count again.
"""

from __future__ import annotations

from prometheus_client import Counter

DEAD_LETTERS = Counter(
    "cyphera_dead_letters",
    "Jobs whose last attempt failed and that were kept as dead letters.",
    ["task"],
)
