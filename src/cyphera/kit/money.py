"""Money is an integer in the smallest unit, always with its asset.

Prices are in USD cents. On-chain amounts are token base units (USDC/USDT: 6 decimals). Converting
cents to token units is exact for any token with at least 2 decimals; anything else is refused, never
rounded silently.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NewType

Cents = NewType("Cents", int)
TokenUnits = NewType("TokenUnits", int)
Wei = NewType("Wei", int)

USD_DECIMALS = 2
MAX_UNIT_AMOUNT = 99_999_999_99  # $99,999,999.99, Stripe's ceiling for unit_amount


def cents_to_token_units(amount: Cents, *, token_decimals: int) -> TokenUnits:
    """`amount` cents as base units of a USD stablecoin with `token_decimals` decimals (1 token = $1)."""
    if amount < 0:
        raise ValueError("amount must not be negative")
    if token_decimals < USD_DECIMALS:
        raise ValueError(f"a token with {token_decimals} decimals cannot hold a cent exactly")
    return TokenUnits(amount * 10 ** (token_decimals - USD_DECIMALS))


def format_cents(amount: int, currency: str = "usd") -> str:
    """``1999`` → ``"$19.99"`` (display only)."""
    value = Decimal(amount).scaleb(-USD_DECIMALS)
    symbol = "$" if currency == "usd" else ""
    return f"{symbol}{value:,.2f}" if symbol else f"{value:,.2f} {currency.upper()}"


def format_token_units(amount: int, *, decimals: int, symbol: str) -> str:
    """``19990000`` with 6 decimals → ``"19.99 USDC"`` (display only, trailing zeros trimmed to 2)."""
    value = Decimal(amount).scaleb(-decimals)
    text = f"{value:f}"
    if "." in text:
        whole, frac = text.split(".")
        frac = frac.rstrip("0").ljust(2, "0")
        text = f"{whole}.{frac}"
    return f"{text} {symbol}"
