"""Errors of the catalog."""

from __future__ import annotations

from cyphera.exceptions import InvalidRequest, NotFound


class CatalogError(InvalidRequest):
    """Base of the catalog's request errors."""


class CurrencyUnsupported(CatalogError):
    code = "currency_unsupported"


class ProductInactive(CatalogError):
    code = "product_inactive"


class ProductMissing(NotFound):
    code = "resource_missing"


class PriceMissing(NotFound):
    code = "resource_missing"
