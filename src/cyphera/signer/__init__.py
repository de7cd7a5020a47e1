"""The signer ("delegation server"): the only process that holds relayer keys.

It accepts charges over authenticated gRPC, checks each against policy (`policy`), persists it,
pre-flights it on-chain (`preflight`), batches and signs redemptions (`processor`, `txmanager`),
stores every signed transaction before broadcasting it, and follows it to the network's
confirmation depth through fee bumps, drops and reorgs (`tracker`), resuming all of that after a
restart (`engine`). `server` runs it; `client.SignerClient` is how the API and the worker call it,
with plain dataclasses from `schemas`.

Nothing here imports merchant data: only `cyphera.kit`, `cyphera.db`, `cyphera.delegation`,
`cyphera.chain`, `cyphera.config` constants and `cyphera.exceptions`.
"""
