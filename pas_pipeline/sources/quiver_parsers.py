"""Parsers of Quiver Quantitative payloads: one tidy frame per dataset.

Every frame has one row per record, a default integer index, and these common columns:

=========== ============== ================================================================
column      dtype          meaning
=========== ============== ================================================================
event_date  datetime64[ns] when it happened (trade / transaction / award action / report /
                           scrape date), at midnight, naive
known_date  datetime64[ns] when it became public (see the per-dataset rule below), midnight
ticker      object (str)   cleaned symbol: ``(NYSE:FBC)`` -> ``FBC``, upper case; of a
                           space-separated list only the first is kept
=========== ============== ================================================================

Per dataset (``known_date`` rule in brackets; all money in USD, float64, NaN when absent):

- **congress_trades** [V2 ``Filed`` / V1 ``ReportDate``; ``event_date`` = ``Traded`` /
  ``TransactionDate``]: ``politician`` (as sent: V2 "Last, First", V1 "First Last"),
  ``bioguide_id`` (None only for V1 rows without it), ``chamber`` ("House" | "Senate"),
  ``party``, ``transaction`` (Quiver's text), ``side`` ("buy" | "sell" | "other": text starting
  purchase/buy, sale/sell, anything else), ``amount_low``, ``amount_high`` (NaN for an open
  "Over $X" range), ``amount_mid`` (midpoint; the lower bound for an open range),
  ``ticker_type`` (``ST``, ``OP``, ...; None when absent).
- **gov_contracts** [``Date``, the announcement; ``event_date`` = ``action_date``]:
  ``amount``, ``agency``, ``description``.
- **insider_trades** [``fileDate``; ``event_date`` = ``Date``, the transaction]: ``insider``,
  ``transaction_code`` (Form 4 code, ``P`` = open-market buy), ``acquired_disposed`` ("A" |
  "D"), ``shares``, ``price`` (per share), ``value`` (= shares x price), ``is_officer``,
  ``is_director`` (bool, null -> False), ``title`` (officer title or None).
- **lobbying** [``Date``, the report date, which is also ``event_date``]: ``amount`` (``$`` and
  ``,`` stripped), ``client``, ``issue``, ``registrant``.
- **app_ratings** [``Time``, the scrape, also ``event_date``]: ``app``, ``rating`` (0-5),
  ``review_count`` (float64, total reviews).

Parsing rules, the same for every dataset (the helpers below are shared):

- Numbers may be JSON numbers or numeric strings (``"1000001.0"``, ``"$2,380,000"``); null,
  ``NaN`` (the JSON literal or a string) and ``""`` are NaN. A bool, an object or text that is
  not a number is a :class:`PayloadError`; so is an infinite value.
- Dates are ``YYYY-MM-DD`` strings or ISO datetimes (``2024-06-07T18:32:05``, with or without
  an offset; an offset is converted to New York before the day is taken). Anything else,
  including a number, is a :class:`PayloadError`.
- A missing/null required field raises :class:`PayloadError` naming the JSON field and the
  0-based row of the payload. Rows without a usable ticker (null, empty, unparsable - e.g.
  non-stock congressional assets) are dropped and counted; a ticker that is not a
  string (a number, an object) is a :class:`PayloadError`.
- Rows whose ``event_date`` is after their ``known_date`` (typos in disclosures) are dropped and
  counted for congress trades and insider trades, where that order is meaningful.
- Exact duplicates (equal in every tidy column) are dropped and counted; app ratings also keep
  only the latest scrape of an (ticker, app) per day.

What was dropped is in ``frame.attrs["quiver"]`` (:func:`parse_report`) and logged at INFO.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
from collections.abc import Callable, Sequence
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from pas_pipeline.sources.errors import PayloadError

log = logging.getLogger(__name__)

SOURCE = "quiver"
NEW_YORK = ZoneInfo("America/New_York")

CONGRESS_COLUMNS = (
    "event_date",
    "known_date",
    "ticker",
    "politician",
    "bioguide_id",
    "chamber",
    "party",
    "transaction",
    "side",
    "amount_low",
    "amount_high",
    "amount_mid",
    "ticker_type",
)
GOV_CONTRACTS_COLUMNS = ("event_date", "known_date", "ticker", "amount", "agency", "description")
INSIDER_COLUMNS = (
    "event_date",
    "known_date",
    "ticker",
    "insider",
    "transaction_code",
    "acquired_disposed",
    "shares",
    "price",
    "value",
    "is_officer",
    "is_director",
    "title",
)
LOBBYING_COLUMNS = (
    "event_date",
    "known_date",
    "ticker",
    "amount",
    "client",
    "issue",
    "registrant",
)
APP_RATINGS_COLUMNS = ("event_date", "known_date", "ticker", "app", "rating", "review_count")

_DATE_COLUMNS = ("event_date", "known_date")
_FLOAT_COLUMNS = frozenset(
    {"amount_low", "amount_high", "amount_mid", "amount", "shares", "price", "value"}
    | {"rating", "review_count"}
)
_BOOL_COLUMNS = frozenset({"is_officer", "is_director"})

# --- shared helpers ----------------------------------------------------------------------


def fail(message: str, field: str | None = None, row: int | None = None) -> NoReturn:
    """Raise the :class:`PayloadError` of this source."""
    raise PayloadError(SOURCE, message, field=field, row=row)


def _is_null(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def records(payload: Any) -> list[dict[str, Any]]:
    """The rows of a Quiver payload: a bare JSON array of objects (or ``{"data": [...]}``)."""
    if isinstance(payload, dict) and isinstance(payload.get("data"), list):
        payload = payload["data"]
    if not isinstance(payload, list):
        fail(f"expected a JSON array of records, got {_kind(payload)}", field="$")
    for row, item in enumerate(payload):
        if not isinstance(item, dict):
            fail(f"expected an object, got {_kind(item)}", field="$", row=row)
    return payload


def _missing(field: str, row: int) -> NoReturn:
    fail("missing required field", field=field, row=row)


def text(value: Any, field: str, row: int, *, required: bool = False) -> str | None:
    """A stripped string; null/NaN/empty -> None (or an error when ``required``)."""
    if _is_null(value) or (isinstance(value, str) and not value.strip()):
        if required:
            _missing(field, row)
        return None
    if not isinstance(value, str):
        fail(f"expected a string, got {_kind(value)} {value!r:.40}", field=field, row=row)
    return value.strip()


_NULL_WORDS = frozenset({"", "nan", "none", "null", "n/a", "na", "-", "--"})


def number(value: Any, field: str, row: int) -> float:
    """A finite float from a JSON number or numeric string (``$``/``,`` stripped); null -> NaN."""
    if _is_null(value):
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        fail(f"expected a number, got {_kind(value)} {value!r:.40}", field=field, row=row)
    if isinstance(value, str):
        cleaned = value.replace("$", "").replace(",", "").strip()
        if cleaned.lower() in _NULL_WORDS:
            return math.nan
        try:
            result = float(cleaned)
        except ValueError:
            fail(f"expected a number, got {value!r:.40}", field=field, row=row)
    else:
        try:
            result = float(value)
        except OverflowError:
            fail("number out of range", field=field, row=row)
    if math.isinf(result):
        fail(f"expected a finite number, got {value!r:.40}", field=field, row=row)
    return result


def timestamp(value: Any, field: str, row: int) -> dt.datetime:
    """A required date or ISO datetime as a naive datetime (offsets converted to New York)."""
    if _is_null(value) or (isinstance(value, str) and not value.strip()):
        _missing(field, row)
    if not isinstance(value, str):
        fail(f"expected a date string, got {_kind(value)} {value!r:.40}", field=field, row=row)
    raw = value.strip()
    try:
        if len(raw) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(raw), dt.time())
        stamp = dt.datetime.fromisoformat(raw)
    except ValueError:
        fail(f"unparsable date {raw!r:.40}", field=field, row=row)
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(NEW_YORK).replace(tzinfo=None)
    return stamp


def date(value: Any, field: str, row: int) -> dt.date:
    """A required date (see :func:`timestamp`); the time of day is dropped."""
    return timestamp(value, field, row).date()


def boolean(value: Any, field: str, row: int) -> bool:
    """A JSON boolean (also ``"true"``/``"false"``/``0``/``1``); null -> False."""
    if _is_null(value):
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    fail(f"expected a boolean, got {_kind(value)} {value!r:.40}", field=field, row=row)


_TICKER = re.compile(r"^[A-Z][A-Z0-9]{0,5}(?:[.\-/][A-Z0-9]{1,2})?$")
_EXCHANGE_PREFIX = re.compile(r"^\(?\s*[A-Z]+\s*:\s*", re.IGNORECASE)


def clean_ticker(value: Any) -> str | None:
    """``"(NYSE:FBC)"`` -> ``"FBC"``, ``" brk.b "`` -> ``"BRK.B"``; None when unusable.

    Of several space- or comma-separated tickers the first is kept; ``BRK/B`` becomes
    ``BRK.B``. Nulls, non-strings, empty strings and anything that does not look like a
    symbol (e.g. ``"N/A"``, a company name) give None.
    """
    if not isinstance(value, str):
        return None
    candidate = value.strip().upper()
    if candidate.lower() in _NULL_WORDS:
        return None
    candidate = _EXCHANGE_PREFIX.sub("", candidate).strip("() ")
    candidate = re.split(r"[\s,;]+", candidate)[0].strip("()") if candidate else ""
    candidate = candidate.replace("/", ".")
    return candidate if _TICKER.match(candidate) else None


def ticker_of(record: dict[str, Any], row: int, field: str = "Ticker") -> str | None:
    """The cleaned ticker of a record (see :func:`clean_ticker`); a non-string is an error."""
    value = record.get(field)
    if not _is_null(value) and not isinstance(value, str):
        fail(f"expected a string, got {_kind(value)} {value!r:.40}", field=field, row=row)
    return clean_ticker(value)


_AMOUNT = r"\$?\s*(\d[\d,]*(?:\.\d+)?)"
_RANGE = re.compile(rf"^{_AMOUNT}\s*[-\u2013\u2014]\s*{_AMOUNT}$")
_OVER = re.compile(rf"^(?:over|above|more than|greater than)\s+{_AMOUNT}$|^{_AMOUNT}\s*\+$", re.I)
_UNDER = re.compile(rf"^(?:under|below|less than|up to)\s+{_AMOUNT}$", re.I)
_SINGLE = re.compile(rf"^{_AMOUNT}$")


def _usd(match_text: str) -> float:
    return float(match_text.replace(",", ""))


def usd_range(value: Any, field: str, row: int) -> tuple[float, float]:
    """``"$1,001 - $15,000"`` -> (1001, 15000); ``"Over $50,000,000"`` -> (5e7, NaN).

    ``"Under $X"`` -> (0, X); a single amount -> (X, X); null/empty -> (NaN, NaN).
    """
    if _is_null(value) or (isinstance(value, str) and value.strip().lower() in _NULL_WORDS):
        return math.nan, math.nan
    if not isinstance(value, str):
        fail(f"expected a range string, got {_kind(value)} {value!r:.40}", field=field, row=row)
    raw = value.strip()
    if match := _RANGE.match(raw):
        return _usd(match[1]), _usd(match[2])
    if match := _OVER.match(raw):
        return _usd(match[1] or match[2]), math.nan
    if match := _UNDER.match(raw):
        return 0.0, _usd(match[1])
    if match := _SINGLE.match(raw):
        return _usd(match[1]), _usd(match[1])
    fail(f"unparsable dollar range {raw!r:.60}", field=field, row=row)


def transaction_side(transaction: str) -> str:
    """ "buy" for text starting purchase/buy, "sell" for sale/sell, else "other"."""
    lowered = transaction.strip().lower()
    if lowered.startswith(("purchase", "buy")):
        return "buy"
    if lowered.startswith(("sale", "sell")):
        return "sell"
    return "other"


# --- frame assembly ----------------------------------------------------------------------


def parse_report(frame: pd.DataFrame) -> dict[str, Any]:
    """What the parser counted for ``frame``: ``dataset``, ``records`` (rows in the payload),
    ``without_ticker``, ``event_after_known``, ``duplicates`` (exact, dropped) and, for app
    ratings, ``superseded`` (earlier same-day scrapes dropped)."""
    return dict(frame.attrs.get("quiver", {}))


def _columns(columns: Sequence[str], rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Parsed rows as a frame with the documented dtype of every column."""
    data: dict[str, Any] = {}
    for name in columns:
        values = [item[name] for item in rows]
        if name in _DATE_COLUMNS:
            data[name] = np.array(values, dtype="datetime64[D]").astype("datetime64[ns]")
        elif name in _FLOAT_COLUMNS:
            data[name] = np.array(values, dtype="float64")
        elif name in _BOOL_COLUMNS:
            data[name] = np.array(values, dtype=bool)
        elif name == "_scraped":
            data[name] = np.array(values, dtype="datetime64[ns]")
        else:
            data[name] = pd.Series(values, dtype=object)
    return pd.DataFrame(data, columns=list(columns))


def _finish(dataset: str, frame: pd.DataFrame, counts: dict[str, int]) -> pd.DataFrame:
    """Sort by (known_date, ticker), reset the index and attach the report."""
    frame = frame.sort_values(["known_date", "ticker"], kind="stable").reset_index(drop=True)
    report = {"dataset": dataset, **counts}
    frame.attrs["quiver"] = report
    dropped = {key: value for key, value in counts.items() if key != "records" and value}
    if dropped:
        log.info("%s %s: %d records, dropped %s", SOURCE, dataset, counts["records"], dropped)
    return frame


def _frame(
    dataset: str, columns: Sequence[str], rows: list[dict[str, Any]], counts: dict[str, int]
) -> pd.DataFrame:
    """The tidy frame of ``rows`` without exact duplicates (counted in ``counts``)."""
    frame = _columns(columns, rows)
    duplicated = frame.duplicated(keep="first")
    counts["duplicates"] = int(duplicated.sum())
    return _finish(dataset, frame[~duplicated], counts)


RowParser = Callable[[dict[str, Any], int], dict[str, Any] | None]


def _parse(
    payload: Any,
    parse_row: RowParser,
    *,
    ordered: bool,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Run ``parse_row`` on every record; count rows without a ticker or out of order."""
    items = records(payload)
    rows: list[dict[str, Any]] = []
    counts = {"records": len(items), "without_ticker": 0, "event_after_known": 0}
    for index, record in enumerate(items):
        parsed = parse_row(record, index)
        if parsed is None:
            counts["without_ticker"] += 1
            continue
        if ordered and parsed["event_date"] > parsed["known_date"]:
            counts["event_after_known"] += 1
            continue
        rows.append(parsed)
    return rows, counts


# --- congress ----------------------------------------------------------------------------

_CHAMBERS = {
    "house": "House",
    "representatives": "House",
    "house of representatives": "House",
    "senate": "Senate",
}


def _chamber(value: Any, field: str, row: int) -> str:
    name = text(value, field, row, required=True)
    chamber = _CHAMBERS.get(str(name).lower())
    if chamber is None:
        fail(f"unknown chamber {name!r:.40}", field=field, row=row)
    return chamber


def _congress_row(record: dict[str, Any], row: int) -> dict[str, Any] | None:
    v1 = any(name in record for name in ("Representative", "ReportDate", "TransactionDate"))
    if v1:
        politician_field, event_field, known_field, chamber_field = (
            "Representative",
            "TransactionDate",
            "ReportDate",
            "House",
        )
    else:
        politician_field, event_field, known_field, chamber_field = (
            "Name",
            "Traded",
            "Filed",
            "Chamber",
        )
    event_date = date(record.get(event_field), event_field, row)
    known_date = date(record.get(known_field), known_field, row)
    politician = text(record.get(politician_field), politician_field, row, required=True)
    bioguide = text(record.get("BioGuideID"), "BioGuideID", row, required=not v1)
    chamber = _chamber(record.get(chamber_field), chamber_field, row)
    party = text(record.get("Party"), "Party", row, required=True)
    transaction = text(record.get("Transaction"), "Transaction", row, required=True)
    if v1:
        low, high = usd_range(record.get("Range"), "Range", row)
        if math.isnan(low):
            low = number(record.get("Amount"), "Amount", row)
    else:
        low, high = usd_range(record.get("Trade_Size_USD"), "Trade_Size_USD", row)
    ticker_type = text(record.get("TickerType"), "TickerType", row)
    ticker = ticker_of(record, row)
    if ticker is None:
        return None
    return {
        "event_date": event_date,
        "known_date": known_date,
        "ticker": ticker,
        "politician": politician,
        "bioguide_id": bioguide,
        "chamber": chamber,
        "party": party,
        "transaction": transaction,
        "side": transaction_side(str(transaction)),
        "amount_low": low,
        "amount_high": high,
        "amount_mid": low if math.isnan(high) else (low + high) / 2,
        "ticker_type": ticker_type.upper() if ticker_type else None,
    }


def parse_congress_trades(payload: Any) -> pd.DataFrame:
    """Congress trades (V2 bulk rows or V1 live/historical rows, even mixed) as a tidy frame."""
    rows, counts = _parse(payload, _congress_row, ordered=True)
    return _frame("congress_trades", CONGRESS_COLUMNS, rows, counts)


# --- government contracts ----------------------------------------------------------------


def _contract_row(record: dict[str, Any], row: int) -> dict[str, Any] | None:
    known_date = date(record.get("Date"), "Date", row)
    event_date = date(record.get("action_date"), "action_date", row)
    parsed = {
        "event_date": event_date,
        "known_date": known_date,
        "amount": number(record.get("Amount"), "Amount", row),
        "agency": text(record.get("Agency"), "Agency", row),
        "description": text(record.get("Description"), "Description", row),
    }
    ticker = ticker_of(record, row)
    return None if ticker is None else {**parsed, "ticker": ticker}


def parse_gov_contracts(payload: Any) -> pd.DataFrame:
    """Individual government contract awards (``live/govcontractsall``) as a tidy frame."""
    rows, counts = _parse(payload, _contract_row, ordered=False)
    return _frame("gov_contracts", GOV_CONTRACTS_COLUMNS, rows, counts)


# --- corporate insiders ------------------------------------------------------------------


def _insider_row(record: dict[str, Any], row: int) -> dict[str, Any] | None:
    event_date = date(record.get("Date"), "Date", row)
    known_date = date(record.get("fileDate"), "fileDate", row)
    insider = text(record.get("Name"), "Name", row, required=True)
    code = text(record.get("TransactionCode"), "TransactionCode", row, required=True)
    direction = text(record.get("AcquiredDisposedCode"), "AcquiredDisposedCode", row, required=True)
    shares = number(record.get("Shares"), "Shares", row)
    price = number(record.get("PricePerShare"), "PricePerShare", row)
    parsed = {
        "event_date": event_date,
        "known_date": known_date,
        "insider": insider,
        "transaction_code": str(code).upper(),
        "acquired_disposed": str(direction).upper(),
        "shares": shares,
        "price": price,
        "value": shares * price,
        "is_officer": boolean(record.get("isOfficer"), "isOfficer", row),
        "is_director": boolean(record.get("isDirector"), "isDirector", row),
        "title": text(record.get("officerTitle"), "officerTitle", row),
    }
    ticker = ticker_of(record, row)
    return None if ticker is None else {**parsed, "ticker": ticker}


def parse_insider_trades(payload: Any) -> pd.DataFrame:
    """SEC Form 4 insider transactions (``live/insiders``) as a tidy frame."""
    rows, counts = _parse(payload, _insider_row, ordered=True)
    return _frame("insider_trades", INSIDER_COLUMNS, rows, counts)


# --- lobbying ----------------------------------------------------------------------------


def _lobbying_row(record: dict[str, Any], row: int) -> dict[str, Any] | None:
    reported = date(record.get("Date"), "Date", row)
    parsed = {
        "event_date": reported,
        "known_date": reported,
        "amount": number(record.get("Amount"), "Amount", row),
        "client": text(record.get("Client"), "Client", row),
        "issue": text(record.get("Issue"), "Issue", row),
        "registrant": text(record.get("Registrant"), "Registrant", row, required=True),
    }
    ticker = ticker_of(record, row)
    return None if ticker is None else {**parsed, "ticker": ticker}


def parse_lobbying(payload: Any) -> pd.DataFrame:
    """Lobbying disclosures (``live/lobbying``) as a tidy frame."""
    rows, counts = _parse(payload, _lobbying_row, ordered=False)
    return _frame("lobbying", LOBBYING_COLUMNS, rows, counts)


# --- app ratings -------------------------------------------------------------------------


def _app_row(record: dict[str, Any], row: int) -> dict[str, Any] | None:
    scraped = timestamp(record.get("Time"), "Time", row)
    parsed = {
        "event_date": scraped.date(),
        "known_date": scraped.date(),
        "app": text(record.get("App"), "App", row, required=True),
        "rating": number(record.get("Rating"), "Rating", row),
        "review_count": number(record.get("Count"), "Count", row),
        "_scraped": scraped,
    }
    ticker = ticker_of(record, row)
    return None if ticker is None else {**parsed, "ticker": ticker}


def parse_app_ratings(payload: Any) -> pd.DataFrame:
    """App ratings (``live/appratings``) as a tidy frame, one row per (ticker, app, day).

    Exact duplicates are dropped first; of several scrapes of an app on one day the latest
    (by ``Time``) is kept.
    """
    rows, counts = _parse(payload, _app_row, ordered=False)
    columns = (*APP_RATINGS_COLUMNS, "_scraped")
    frame = _columns(columns, rows)
    duplicated = frame.duplicated(keep="first")
    counts["duplicates"] = int(duplicated.sum())
    frame = frame[~duplicated].sort_values("_scraped", kind="stable")
    superseded = frame.duplicated(["ticker", "app", "known_date"], keep="last")
    counts["superseded"] = int(superseded.sum())
    return _finish("app_ratings", frame[~superseded][list(APP_RATINGS_COLUMNS)], counts)


PARSERS: dict[str, Callable[[Any], pd.DataFrame]] = {
    "congress_trades": parse_congress_trades,
    "gov_contracts": parse_gov_contracts,
    "insider_trades": parse_insider_trades,
    "lobbying": parse_lobbying,
    "app_ratings": parse_app_ratings,
}
"""The parser of each dataset, keyed like ``pas_pipeline.sources.quiver.QUIVER_DATASETS``."""

__all__ = [
    "APP_RATINGS_COLUMNS",
    "CONGRESS_COLUMNS",
    "GOV_CONTRACTS_COLUMNS",
    "INSIDER_COLUMNS",
    "LOBBYING_COLUMNS",
    "PARSERS",
    "clean_ticker",
    "parse_app_ratings",
    "parse_congress_trades",
    "parse_gov_contracts",
    "parse_insider_trades",
    "parse_lobbying",
    "parse_report",
    "usd_range",
]
