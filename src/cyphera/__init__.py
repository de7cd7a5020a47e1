"""Cyphera: recurring stablecoin payments over MetaMask delegations."""
