"""The books as the signer sees them: in-flight payments under active permissions.

The signer redeems only charges the shared database says are owed (`signer_owed_charges`, over
the billing tables). Signer tests that are about something else record each charge they send as
owed, with the smallest set of real rows billing would have written: a workspace, a customer, a
permission, an invoice and a pending payment.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from eth_utils.crypto import keccak
from sqlalchemy import Engine, create_engine
from sqlalchemy.dialects.postgresql import insert

from cyphera.models import Customer, Invoice, Payment, Permission, Workspace
from cyphera.models.invoice import InvoiceStatus
from cyphera.models.mixins import Mode
from cyphera.models.payment import PaymentStatus
from cyphera.models.permission import PermissionSource, PermissionStatus
from cyphera.signer.schemas import ChargeInput

WORKSPACE_ID = "ws_signer_books"


class Books:
    """Records charges as owed, synchronously (callable from sync helpers inside async tests)."""

    def __init__(self, database_url: str) -> None:
        self._engine: Engine = create_engine(
            database_url.replace("postgresql://", "postgresql+psycopg://", 1), pool_size=1
        )

    def close(self) -> None:
        self._engine.dispose()

    def owe(self, charge: ChargeInput, *, permission_status: str = "active") -> None:
        """An in-flight payment `charge.idempotency_key` for exactly `charge` (no-op if present)."""
        now = datetime.now(UTC)
        context_hash = "0x" + keccak(charge.permission_context).hex()
        permission_id = "perm_" + context_hash[2:26]
        customer_id = "cus_" + keccak(text=charge.payee.lower()).hex()[:24]
        tenant = {"workspace_id": WORKSPACE_ID, "mode": Mode.TEST}
        with self._engine.begin() as conn:
            conn.execute(
                insert(Workspace)
                .values(id=WORKSPACE_ID, name="Signer books")
                .on_conflict_do_nothing()
            )
            conn.execute(
                insert(Customer)
                .values(id=customer_id, address=charge.payee, **tenant)
                .on_conflict_do_nothing()
            )
            conn.execute(
                insert(Permission)
                .values(
                    id=permission_id,
                    customer_id=customer_id,
                    network="local",
                    chain_id=charge.chain_id,
                    source=PermissionSource.EIP712,
                    status=PermissionStatus(permission_status),
                    account=charge.payee,
                    delegate=charge.payee,
                    delegation_manager=charge.payee,
                    delegation_hash=context_hash,
                    revocation_hash=context_hash,
                    token_address=charge.token,
                    token_symbol="USDC",
                    token_decimals=6,
                    period_amount=max(charge.amount, 1),
                    period_seconds=86_400,
                    start_at=now,
                    expires_at=now + timedelta(days=365),
                    payee=charge.payee,
                    context=charge.permission_context,
                    **tenant,
                )
                .on_conflict_do_nothing()
            )
            invoice_id = "in_" + charge.idempotency_key[:36]
            conn.execute(
                insert(Invoice)
                .values(
                    id=invoice_id,
                    number=invoice_id,
                    customer_id=customer_id,
                    period_start=now,
                    period_end=now + timedelta(days=1),
                    status=InvoiceStatus.OPEN,
                    currency="usd",
                    amount_due=1,
                    amount_paid=0,
                    **tenant,
                )
                .on_conflict_do_nothing()
            )
            conn.execute(
                insert(Payment)
                .values(
                    id=charge.idempotency_key,
                    invoice_id=invoice_id,
                    customer_id=customer_id,
                    permission_id=permission_id,
                    status=PaymentStatus.PENDING,
                    amount_cents=1,
                    amount=charge.amount,
                    network="local",
                    chain_id=charge.chain_id,
                    token_address=charge.token,
                    payee=charge.payee,
                    **tenant,
                )
                .on_conflict_do_nothing()
            )
