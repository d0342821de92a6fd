"""The warehouse IO manager for alternative data: a table that does not exist yet reads as an
empty frame.

Some sources only accrue forward (Quiver's app ratings return the latest week only), so a
look-back over dates before the first stored rows finds no table at all. For alternative
data that means "nothing was known", which the strategies turn into a cash sleeve with a
note. Market data keeps the strict manager: a missing prices table must fail loudly, never
read as "no positions".
"""

from typing import Any

import dagster as dg
import duckdb
import pandas as pd
from dagster_duckdb_pandas import DuckDBPandasIOManager


class _MissingTableIsEmpty(dg.IOManager):
    def __init__(self, inner: dg.IOManager) -> None:
        self._inner = inner

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        self._inner.handle_output(context, obj)

    def load_input(self, context: dg.InputContext) -> Any:
        try:
            return self._inner.load_input(context)
        except duckdb.CatalogException:
            context.log.warning(
                f"{context.asset_key.to_user_string()} has no table yet: read as no rows known"
            )
            return pd.DataFrame()


class AltDataIOManager(DuckDBPandasIOManager):
    """``DuckDBPandasIOManager`` whose missing tables read as empty frames."""

    def create_io_manager(self, context: dg.InitResourceContext) -> dg.IOManager:
        return _MissingTableIsEmpty(super().create_io_manager(context))
