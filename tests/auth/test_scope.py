from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Select, select
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.orm import aliased

from cyphera.auth.scope import Scope, scoped
from cyphera.models.mixins import Mode
from cyphera.models.price import Price
from cyphera.models.product import Product
from cyphera.models.workspace import Workspace

SCOPE = Scope(workspace_id="ws_abc", mode=Mode.LIVE)


def _sql(statement: Select[Any]) -> str:
    return str(
        statement.compile(
            dialect=PGDialect_psycopg(),  # type: ignore[no-untyped-call]
            compile_kwargs={"literal_binds": True},
        )
    )


def test_scoped_constrains_workspace_and_mode() -> None:
    sql = _sql(scoped(select(Product), SCOPE))

    assert "products.workspace_id = 'ws_abc'" in sql
    assert "products.mode = 'live'" in sql


def test_scoped_constrains_every_table_of_a_join() -> None:
    sql = _sql(scoped(select(Price).join(Product, Price.product_id == Product.id), SCOPE))

    assert "prices.workspace_id = 'ws_abc'" in sql
    assert "prices.mode = 'live'" in sql
    assert "products.workspace_id = 'ws_abc'" in sql
    assert "products.mode = 'live'" in sql


def test_scoped_refuses_a_statement_without_tenant_table() -> None:
    with pytest.raises(ValueError, match="tenant-owned"):
        scoped(select(Workspace), SCOPE)


def test_tenant_columns_come_from_the_scope() -> None:
    assert SCOPE.tenant_columns() == {"workspace_id": "ws_abc", "mode": Mode.LIVE}
    assert SCOPE.livemode is True


def _aliased_join() -> Select[Any]:
    # A fresh pair of anonymous aliases each time, as a query built per call makes them.
    new, old = aliased(Price), aliased(Price)
    return select(new.id, old.id).select_from(new).join(old, old.id == new.product_id)


def test_aliases_of_a_statement_built_again_are_scoped_not_the_first_ones() -> None:
    scoped(_aliased_join(), SCOPE)  # the same shape, seen once before

    again = scoped(_aliased_join(), SCOPE)

    # Scoping the first statement's aliases would add them as FROMs of their own: a cartesian
    # product (and wrong figures) instead of one join.
    assert len(again.get_final_froms()) == 1
    assert _sql(again).count(".workspace_id = 'ws_abc'") == 2
