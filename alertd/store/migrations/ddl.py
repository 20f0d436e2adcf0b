"""The tables a migration creates, stated compactly.

A column is `(name, type, nullable)`; one that needs more (a server default, a primary key
that must or must not autoincrement) is written as a `Column` in the same list. The primary
key is named apart, as a `PrimaryKeyConstraint` would. Each step still states every column
of what it creates: this only saves it from spelling `Column(..., nullable=False)` out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, MetaData, PrimaryKeyConstraint, Table
from sqlalchemy.schema import SchemaItem
from sqlalchemy.types import TypeEngine

ColumnSpec = tuple[str, TypeEngine[Any] | type[TypeEngine[Any]], bool]


def table(md: MetaData, name: str, columns: Sequence[ColumnSpec | Column[Any]],
          *extra: SchemaItem, key: Sequence[str] = ()) -> Table:
    """A table on `md` with `columns` in order, then `extra` (indexes, foreign keys)."""
    items: list[SchemaItem] = [
        c if isinstance(c, Column) else Column(c[0], c[1], nullable=c[2]) for c in columns]
    if key:
        items.append(PrimaryKeyConstraint(*key))
    return Table(name, md, *items, *extra)
