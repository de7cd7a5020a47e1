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


def test_a_statement_of_the_same_shape_is_scoped_on_its_own_aliases() -> None:
    # Two statements alike but for their (anonymous) aliases: the second must be scoped on
    # its own alias, not on the first one's (which would add a FROM and leave its own open).
    def aliased_prices() -> tuple[Select[Any], Any]:
        other = aliased(Price)
        statement = select(Price.id).join(other, other.product_id == Price.product_id)
        return statement, other

    first, first_alias = aliased_prices()
    second, second_alias = aliased_prices()
    scoped(first, SCOPE)

    sql = _sql(scoped(second, SCOPE))

    # FROM prices JOIN prices AS prices_1 ON …, with both scoped — and no third FROM element
    assert sql.count(" AS prices_") == 1
    assert "prices_1.workspace_id = 'ws_abc'" in sql
    assert "prices.workspace_id = 'ws_abc'" in sql
    assert second_alias is not first_alias
