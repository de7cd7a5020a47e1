"""The local chain: anvil from npm, the Delegation Framework deployed on it, and test helpers.

Dev and test tooling only; production code never imports this package.
"""

from cyphera.chain.devnet.anvil import (
    DEV_MNEMONIC,
    AnvilProcess,
    dev_accounts,
    find_anvil,
    free_port,
)
from cyphera.chain.devnet.deploy import (
    LIBRARY_PLACEHOLDERS,
    TEST_TOKENS,
    create_address,
    deploy_framework,
    verify_deployment,
)
from cyphera.chain.devnet.helpers import (
    DELEGATION_DESIGNATOR,
    delegated_implementation,
    fund_token,
    latest_timestamp,
    mine,
    revert,
    rpc,
    send_transactions,
    set_balance,
    set_next_block_timestamp,
    snapshot,
    time_travel,
    token_balance,
    transact,
    upgrade_many_to_7702,
    upgrade_to_7702,
)
from cyphera.chain.devnet.session import Devnet, start_devnet
from cyphera.chain.local import LOCAL_CHAIN_ID, LocalDeployment

__all__ = [
    "DELEGATION_DESIGNATOR",
    "DEV_MNEMONIC",
    "LIBRARY_PLACEHOLDERS",
    "LOCAL_CHAIN_ID",
    "TEST_TOKENS",
    "AnvilProcess",
    "Devnet",
    "LocalDeployment",
    "create_address",
    "delegated_implementation",
    "deploy_framework",
    "dev_accounts",
    "find_anvil",
    "free_port",
    "fund_token",
    "latest_timestamp",
    "mine",
    "revert",
    "rpc",
    "send_transactions",
    "set_balance",
    "set_next_block_timestamp",
    "snapshot",
    "start_devnet",
    "time_travel",
    "token_balance",
    "transact",
    "upgrade_many_to_7702",
    "upgrade_to_7702",
    "verify_deployment",
]
