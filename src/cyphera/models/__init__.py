"""ORM tables of the platform, one module per table. Importing this package registers them all."""

from cyphera.models.api_key import ApiKey
from cyphera.models.checkout_session import CheckoutSession
from cyphera.models.customer import Customer
from cyphera.models.event import Event
from cyphera.models.idempotency_key import IdempotencyKey
from cyphera.models.invoice import Invoice
from cyphera.models.payment import Payment
from cyphera.models.payout_address import PayoutAddress
from cyphera.models.permission import Permission
from cyphera.models.price import Price
from cyphera.models.product import Product
from cyphera.models.subscription import Subscription
from cyphera.models.workspace import Workspace

__all__ = [
    "ApiKey",
    "CheckoutSession",
    "Customer",
    "Event",
    "IdempotencyKey",
    "Invoice",
    "Payment",
    "PayoutAddress",
    "Permission",
    "Price",
    "Product",
    "Subscription",
    "Workspace",
]
