"""Payment links: a reusable URL for one price that opens a fresh checkout session per visit."""
