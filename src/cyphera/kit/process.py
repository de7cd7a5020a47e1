"""What every process entry point (``cyphera api | worker | signer | dev``) sets once, first.

`reset_recursion_limit`: ``py_ecc``, imported by eth-keys and eth-account at import time, raises
the interpreter's recursion limit to 100,000 for all code in the process. Python's limit is what
turns runaway recursion into a `RecursionError`; at 100,000 a recursive C parser (``json.loads``
of ``[[[[…``) overflows the C stack first and the process dies of SIGSEGV, taking every request
in flight with it. Nothing in Cyphera needs deep recursion, so the entry points put the limit
back once the imports are done. (The API also refuses deeply nested bodies before any parser
runs: `cyphera.api.middleware`.)
"""

from __future__ import annotations

import sys

RECURSION_LIMIT = 1000
"""CPython's own default: deep enough for any code we run, shallow enough for any C stack."""


def reset_recursion_limit() -> None:
    """Put the recursion limit back to `RECURSION_LIMIT`, whatever an imported library set."""
    sys.setrecursionlimit(RECURSION_LIMIT)
