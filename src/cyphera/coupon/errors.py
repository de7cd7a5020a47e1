"""Errors of coupons and discounts: each a stable code."""

from __future__ import annotations

from cyphera.exceptions import Conflict, InvalidRequest


class CouponParameterInvalid(InvalidRequest):
    code = "parameter_invalid"


class CouponAmountMissing(InvalidRequest):
    """Neither or both of ``percent_off`` and ``amount_off``."""

    code = "coupon_amount_invalid"


class CouponDurationInvalid(InvalidRequest):
    """``duration_in_months`` given without ``repeating``, or missing with it."""

    code = "coupon_duration_invalid"


class CurrencyUnsupported(InvalidRequest):
    code = "currency_unsupported"


class CouponInvalid(InvalidRequest):
    """The coupon was deleted: it can no longer be applied."""

    code = "coupon_invalid"


class CouponExpired(InvalidRequest):
    """Its ``redeem_by`` has passed."""

    code = "coupon_expired"


class CouponCurrencyMismatch(InvalidRequest):
    """An ``amount_off`` coupon in another currency than the price's."""

    code = "coupon_currency_mismatch"


class CouponMaxRedemptions(Conflict):
    """``max_redemptions`` is reached (possibly by a concurrent redemption)."""

    code = "coupon_max_redemptions_reached"
