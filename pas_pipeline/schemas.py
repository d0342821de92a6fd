"""Pandera schemas of the tidy frames, and :func:`validate_frame` turning failures into errors.

A failed validation raises :class:`PayloadError` naming the source, the failing column and the
first failing row (the frame's index label), so a blocking asset check says exactly what is
wrong and where.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa

from pas_pipeline.sources.errors import PayloadError

_FINITE = pa.Check(np.isfinite, name="finite")
_PRICE = pa.Column("float64", [pa.Check.gt(0), _FINITE], nullable=False)
_FINITE_OR_NAN = pa.Check(lambda s: ~np.isinf(s), name="not_infinite")

PRICES_SCHEMA = pa.DataFrameSchema(
    {
        "date": pa.Column("datetime64[ns]", nullable=False),
        "ticker": pa.Column(str, pa.Check.str_length(min_value=1), nullable=False),
        "open": _PRICE,
        "high": _PRICE,
        "low": _PRICE,
        "close": _PRICE,
        "adj_close": _PRICE,
        "volume": pa.Column("int64", pa.Check.ge(0), nullable=False),
    },
    checks=[pa.Check(lambda frame: frame["low"] <= frame["high"], name="low_le_high")],
    unique=["date", "ticker"],
    strict=True,
    name="prices",
)
"""Daily bars (``pas_pipeline.sources.yahoo``): finite positive prices, low <= high,
volume >= 0, one row per (date, ticker), exactly the tidy columns."""

FRAME_CHECK_COLUMNS = {"low_le_high": "low"}
"""Column to blame when a frame-wide check fails (pandera lists every column instead)."""


def _first_failure(cases: pd.DataFrame) -> pd.Series:
    """The failure case with the smallest row index (cases without a row come last).

    A frame-wide check is reported once per column; only its blamed column's case is kept.
    """
    blamed = cases["check"].map(FRAME_CHECK_COLUMNS)
    cases = cases[blamed.isna() | (cases["column"] == blamed)]
    ordered = cases.assign(_row=pd.to_numeric(cases["index"], errors="coerce"))
    return ordered.sort_values("_row", kind="stable", na_position="last").iloc[0]


def _blamed_column(case: pd.Series, schema: pa.DataFrameSchema) -> str | None:
    check = str(case["check"])
    if check in ("column_in_schema", "column_in_dataframe"):
        return str(case["failure_case"])  # the extra or missing column itself
    if check == "multiple_fields_uniqueness":
        return ", ".join(schema.unique or [])
    if check in FRAME_CHECK_COLUMNS:
        return FRAME_CHECK_COLUMNS[check]
    column = case["column"]
    return None if pd.isna(column) or column == schema.name else str(column)


def _row(case: pd.Series) -> int | None:
    index = case["index"]
    if index is None or pd.isna(index):
        return None
    return int(index) if float(index).is_integer() else None


def validate_frame(schema: pa.DataFrameSchema, frame: pd.DataFrame, source: str) -> None:
    """Validate ``frame`` lazily against ``schema``; raise :class:`PayloadError` on failure.

    The error names the failing column, the first failing row (index label; the frame is
    expected to carry a default integer index) and the number of failure cases.
    """
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        first = _first_failure(cases)
        raise PayloadError(
            source,
            f"{schema.name or 'frame'} failed {first['check']} (value {first['failure_case']}); "
            f"{len(cases)} failure case(s) in total",
            field=_blamed_column(first, schema),
            row=_row(first),
        ) from exc


_WEIGHT = pa.Column("float64", [pa.Check.ge(0), pa.Check.le(1), _FINITE], nullable=False)

SLEEVE_SCHEMA = pa.DataFrameSchema(
    {
        "date": pa.Column("datetime64[ns]", nullable=False),
        "strategy": pa.Column(str, nullable=False),
        "rebalance_date": pa.Column("datetime64[ns]", nullable=False),
        "ticker": pa.Column(str, pa.Check.str_length(min_value=1), nullable=False),
        "score": pa.Column("float64", nullable=True),
        "weight": _WEIGHT,
        "view_excess_return": pa.Column("float64", _FINITE_OR_NAN, nullable=True),
        "view_confidence": pa.Column("float64", [pa.Check.gt(0), pa.Check.lt(1)], nullable=True),
    },
    checks=[
        pa.Check(
            lambda frame: bool(np.isclose(frame["weight"].sum(), 1.0, atol=1e-9)),
            name="weights_and_cash_sum_to_one",
        ),
        pa.Check(
            lambda frame: bool((frame["rebalance_date"] <= frame["date"]).all()),
            name="rebalance_not_after_date",
        ),
    ],
    unique=["date", "strategy", "ticker"],
    strict=True,
    name="sleeve",
)
"""A stored strategy sleeve (``pas_pipeline.strategies.run.sleeve_frame``): weights in
[0, 1] that, with the ``$CASH`` row, sum to 1; decided on or before the partition date."""


# --- Quiver alternative data (pas_pipeline.sources.quiver_parsers) -----------------------

_MIDNIGHT = pa.Check(lambda s: s == s.dt.normalize(), name="at_midnight")
DAY_COLUMN = pa.Column("datetime64[ns]", _MIDNIGHT, nullable=False)
SYMBOL_COLUMN = pa.Column(str, pa.Check.str_matches(r"^[A-Z][A-Z0-9]{0,5}(?:[.\-][A-Z0-9]{1,2})?$"))
TEXT_COLUMN = pa.Column(str, pa.Check.str_length(min_value=1), nullable=False)
_OPTIONAL_TEXT = pa.Column(str, nullable=True)
_AMOUNT = pa.Column("float64", [pa.Check.ge(0), _FINITE], nullable=True)
"""Dollars or shares: non-negative and finite, NaN when the source did not say."""
KNOWN_AFTER_EVENT = pa.Check(
    lambda frame: frame["known_date"] >= frame["event_date"], name="known_not_before_event"
)

CONGRESS_TRADES_SCHEMA = pa.DataFrameSchema(
    {
        "event_date": DAY_COLUMN,
        "known_date": DAY_COLUMN,
        "ticker": SYMBOL_COLUMN,
        "politician": TEXT_COLUMN,
        "bioguide_id": _OPTIONAL_TEXT,
        "chamber": pa.Column(str, pa.Check.isin(["House", "Senate"]), nullable=False),
        "party": TEXT_COLUMN,
        "transaction": TEXT_COLUMN,
        "side": pa.Column(str, pa.Check.isin(["buy", "sell", "other"]), nullable=False),
        "amount_low": _AMOUNT,
        "amount_high": _AMOUNT,
        "amount_mid": _AMOUNT,
        "ticker_type": _OPTIONAL_TEXT,
    },
    checks=[
        KNOWN_AFTER_EVENT,
        pa.Check(
            lambda frame: ~(frame["amount_low"] > frame["amount_high"]), name="amount_low_le_high"
        ),
    ],
    unique=[
        "bioguide_id",
        "politician",
        "ticker",
        "event_date",
        "known_date",
        "transaction",
        "amount_low",
        "amount_high",
        "ticker_type",
    ],
    strict=True,
    name="congress_trades",
)
"""Congressional trades: disclosed (``known_date``) on or after the trade, USD ranges with
low <= high, one row per (politician, ticker, dates, transaction, range, ticker type)."""

GOV_CONTRACTS_SCHEMA = pa.DataFrameSchema(
    {
        "event_date": DAY_COLUMN,
        "known_date": DAY_COLUMN,
        "ticker": SYMBOL_COLUMN,
        "amount": _AMOUNT,
        "agency": _OPTIONAL_TEXT,
        "description": _OPTIONAL_TEXT,
    },
    unique=["ticker", "event_date", "known_date", "agency", "description", "amount"],
    strict=True,
    name="gov_contracts",
)
"""Government contract awards. ``known_date`` (announcement) may precede ``event_date``
(the contract action), so their order is not checked."""

INSIDER_TRADES_SCHEMA = pa.DataFrameSchema(
    {
        "event_date": DAY_COLUMN,
        "known_date": DAY_COLUMN,
        "ticker": SYMBOL_COLUMN,
        "insider": TEXT_COLUMN,
        "transaction_code": pa.Column(str, pa.Check.str_matches(r"^[A-Z]$"), nullable=False),
        "acquired_disposed": pa.Column(str, pa.Check.isin(["A", "D"]), nullable=False),
        "shares": _AMOUNT,
        "price": _AMOUNT,
        "value": _AMOUNT,
        "is_officer": pa.Column(bool, nullable=False),
        "is_director": pa.Column(bool, nullable=False),
        "title": _OPTIONAL_TEXT,
    },
    checks=[KNOWN_AFTER_EVENT],
    unique=[
        "ticker",
        "insider",
        "event_date",
        "known_date",
        "transaction_code",
        "acquired_disposed",
        "shares",
        "price",
    ],
    strict=True,
    name="insider_trades",
)
"""SEC Form 4 transactions: filed on or after the transaction, non-negative shares, price
and value, a one-letter code, A(cquired) or D(isposed)."""

LOBBYING_SCHEMA = pa.DataFrameSchema(
    {
        "event_date": DAY_COLUMN,
        "known_date": DAY_COLUMN,
        "ticker": SYMBOL_COLUMN,
        "amount": _AMOUNT,
        "client": _OPTIONAL_TEXT,
        "issue": _OPTIONAL_TEXT,
        "registrant": TEXT_COLUMN,
    },
    checks=[KNOWN_AFTER_EVENT],
    unique=["ticker", "known_date", "client", "issue", "registrant", "amount"],
    strict=True,
    name="lobbying",
)
"""Lobbying disclosures: non-negative spend, one row per (ticker, date, client, issue,
registrant, amount)."""

APP_RATINGS_SCHEMA = pa.DataFrameSchema(
    {
        "event_date": DAY_COLUMN,
        "known_date": DAY_COLUMN,
        "ticker": SYMBOL_COLUMN,
        "app": TEXT_COLUMN,
        "rating": pa.Column("float64", [pa.Check.in_range(0, 5)], nullable=True),
        "review_count": pa.Column("float64", [pa.Check.ge(0), _FINITE], nullable=True),
    },
    checks=[KNOWN_AFTER_EVENT],
    unique=["ticker", "app", "known_date"],
    strict=True,
    name="app_ratings",
)
"""App store ratings: a 0-5 rating, a non-negative review count, one scrape per (ticker,
app, day)."""

FRAME_CHECK_COLUMNS.update(
    {"known_not_before_event": "known_date", "amount_low_le_high": "amount_low"}
)


# --- Wikimedia page views (pas_pipeline.sources.wikimedia) --------------------------------

PAGEVIEWS_SCHEMA = pa.DataFrameSchema(
    {
        "event_date": DAY_COLUMN,
        "known_date": DAY_COLUMN,
        "ticker": SYMBOL_COLUMN,
        "article": TEXT_COLUMN,
        "views": pa.Column("int64", pa.Check.ge(0), nullable=False),
    },
    checks=[
        pa.Check(lambda frame: frame["known_date"] > frame["event_date"], name="known_after_event")
    ],
    unique=["ticker", "event_date"],
    strict=True,
    name="pageviews",
)
"""Daily Wikipedia page views per ticker: non-negative integer counts, published after the
day they count (``known_date > event_date``), one row per (ticker, day)."""

FRAME_CHECK_COLUMNS.update({"known_after_event": "known_date"})
