"""ORM tables of the platform, one module per table. Importing this package registers them all."""

from cyphera.models.account import Account
from cyphera.models.account_session import AccountSession
from cyphera.models.api_key import ApiKey
from cyphera.models.audit_entry import AuditEntry
from cyphera.models.chain_cursor import ChainCursor
from cyphera.models.checkout_session import CheckoutSession
from cyphera.models.coupon import Coupon, Discount
from cyphera.models.customer import Customer
from cyphera.models.dead_letter import DeadLetter
from cyphera.models.event import Event
from cyphera.models.idempotency_key import IdempotencyKey
from cyphera.models.invitation import Invitation
from cyphera.models.invoice import Invoice
from cyphera.models.invoice_line_item import InvoiceLineItem
from cyphera.models.member import Member
from cyphera.models.payment import Payment
from cyphera.models.payment_link import PaymentLink
from cyphera.models.payout_address import PayoutAddress
from cyphera.models.permission import Permission
from cyphera.models.portal import BillingPortalSession, PortalSession
from cyphera.models.price import Price
from cyphera.models.product import Product
from cyphera.models.reconciliation_finding import ReconciliationFinding
from cyphera.models.siwe_nonce import SiweNonce
from cyphera.models.subscription import Subscription
from cyphera.models.test_clock import TestClock
from cyphera.models.webhook_delivery import WebhookDelivery, WebhookDeliveryAttempt
from cyphera.models.webhook_endpoint import WebhookEndpoint
from cyphera.models.workspace import Workspace

__all__ = [
    "Account",
    "AccountSession",
    "ApiKey",
    "AuditEntry",
    "BillingPortalSession",
    "ChainCursor",
    "CheckoutSession",
    "Coupon",
    "Customer",
    "DeadLetter",
    "Discount",
    "Event",
    "IdempotencyKey",
    "Invitation",
    "Invoice",
    "InvoiceLineItem",
    "Member",
    "Payment",
    "PaymentLink",
    "PayoutAddress",
    "Permission",
    "PortalSession",
    "Price",
    "Product",
    "ReconciliationFinding",
    "SiweNonce",
    "Subscription",
    "TestClock",
    "WebhookDelivery",
    "WebhookDeliveryAttempt",
    "WebhookEndpoint",
    "Workspace",
]
