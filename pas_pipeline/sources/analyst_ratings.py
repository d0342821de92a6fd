"""Analyst rating changes from Yahoo Finance's quote summary (``upgradeDowngradeHistory``).

One request per symbol returns the symbol's whole rating history (there are no date
parameters): ``GET https://query2.finance.yahoo.com/v10/finance/quoteSummary/{symbol}
?modules=upgradeDowngradeHistory&formatted=false`` answers
``{"quoteSummary": {"result": [{"upgradeDowngradeHistory": {"history": [...], "maxAge": 86400}}],
"error": null}}``, newest change first. Each history item has ``epochGradeDate`` (epoch
**seconds**), ``firm``, ``toGrade``, ``fromGrade`` and ``action`` (``up``, ``down``, ``main``
= maintains, ``init`` = initiates, ``reit`` = reiterates); newer payloads add
``priceTargetAction``, ``currentPriceTarget`` and ``priorPriceTarget``, which are ignored
here. An unknown symbol is HTTP 404 with ``{"quoteSummary": {"result": null, "error":
{"code": "Not Found", ...}}}``, read as "no rows". The host, rate limit and retries are
Yahoo's chart policy (:data:`pas_pipeline.sources.yahoo.YAHOO_POLICY`): same host, same limits.

Yahoo wants a session cookie and a ``crumb`` query parameter on quote-summary calls. The
client's :class:`ApiClient` carries :func:`~pas_pipeline.sources.session_auth.yahoo_session_auth`
(in both modes): before the first call it gets the cookie from ``https://fc.yahoo.com/`` and
the crumb from ``https://query1.finance.yahoo.com/v1/test/getcrumb``, as yfinance does, then
sends both on every call; an HTTP 401 (``Invalid Crumb``) renews the session once and retries.

The tidy frame (:data:`RATING_CHANGE_COLUMNS`, one row per rating change):

============ ================ ==========================================================
column       dtype            meaning
============ ================ ==========================================================
event_date   datetime64[ns]   the UTC calendar day of ``epochGradeDate`` (midnight)
known_date   datetime64[ns]   ``= event_date``: a rating is public the day it is issued
ticker       object (str)     the symbol as requested
firm         object (str)     the broker (``"Morgan Stanley"``), stripped
action       object (str)     one of :data:`ACTIONS` (lower case)
from_grade   object (str)     the grade before the change (``""`` when absent, e.g. ``init``)
to_grade     object (str)     the grade after the change (``""`` when absent)
============ ================ ==========================================================

Natural key: (ticker, firm, event_date, action): a firm changes a rating of a stock at most
once a day in a given direction. Items repeating a key (Yahoo's history does list the same
change twice) are one rating change reported twice: the first listed (Yahoo lists newest
first) is kept and the others are dropped, so a firm's vote is never counted twice. Rows are
sorted by (ticker, event_date, firm, action).

A missing ``upgradeDowngradeHistory`` module or ``history`` list (symbols without analyst
coverage, such as ETFs) gives no rows. A malformed item raises :class:`PayloadError` naming
the field and the item's 0-based position in ``history``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

import pandas as pd
import pandera.pandas as pa

from pas_pipeline.config import DataMode
from pas_pipeline.schemas import DAY_COLUMN, FRAME_CHECK_COLUMNS, SYMBOL_COLUMN, TEXT_COLUMN
from pas_pipeline.sources.errors import PayloadError
from pas_pipeline.sources.http import ApiClient, sample_transport, unlimited
from pas_pipeline.sources.session_auth import yahoo_session_auth
from pas_pipeline.sources.yahoo import YAHOO_POLICY, yahoo_symbol

log = logging.getLogger(__name__)

SOURCE = "yahoo"
MODULE = "upgradeDowngradeHistory"
QUOTE_SUMMARY_PATH = "/v10/finance/quoteSummary/"
ACTIONS = ("up", "down", "main", "init", "reit")
"""Upgrade, downgrade, maintains, initiates coverage, reiterates."""
RATING_CHANGE_COLUMNS = (
    "event_date",
    "known_date",
    "ticker",
    "firm",
    "action",
    "from_grade",
    "to_grade",
)
NATURAL_KEY = ["ticker", "firm", "event_date", "action"]
LATEST_EPOCH_SECONDS = 4_102_444_800
"""2100-01-01 UTC: a larger ``epochGradeDate`` is taken for milliseconds and rejected."""

RATING_CHANGES_SCHEMA = pa.DataFrameSchema(
    {
        "event_date": DAY_COLUMN,
        "known_date": DAY_COLUMN,
        "ticker": SYMBOL_COLUMN,
        "firm": TEXT_COLUMN,
        "action": pa.Column(str, pa.Check.isin(list(ACTIONS)), nullable=False),
        "from_grade": pa.Column(str, nullable=False),
        "to_grade": pa.Column(str, nullable=False),
    },
    checks=[
        pa.Check(
            lambda frame: frame["known_date"] == frame["event_date"], name="known_on_event_day"
        )
    ],
    unique=NATURAL_KEY,
    strict=True,
    name="rating_changes",
)
"""Analyst rating changes: midnight days, known the day they are issued, an action of
:data:`ACTIONS`, grades as text (possibly empty), one row per (ticker, firm, day, action)."""

FRAME_CHECK_COLUMNS.update({"known_on_event_day": "known_date"})


class AnalystRatingsClient:
    """Raw ``upgradeDowngradeHistory`` payloads through a shared :class:`ApiClient`.

    Yahoo's session (cookie and ``crumb``) is the ``api``'s auth, not this class's concern:
    :func:`make_analyst_ratings_client` builds it with
    :func:`~pas_pipeline.sources.session_auth.yahoo_session_auth`.
    """

    def __init__(self, api: ApiClient) -> None:
        self.api = api

    def __enter__(self) -> AnalystRatingsClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.api.close()

    def upgrade_downgrade_history(self, symbol: str) -> dict[str, Any] | None:
        """The raw quote-summary payload of ``symbol``'s rating history; ``None`` on HTTP 404
        (Yahoo does not know the symbol)."""
        params = {"modules": MODULE, "formatted": "false"}
        path = f"{QUOTE_SUMMARY_PATH}{quote(yahoo_symbol(symbol), safe='')}"
        return self.api.get_json(path, params)


def _empty_frame() -> pd.DataFrame:
    columns: dict[str, pd.Series] = {
        name: pd.Series(dtype="datetime64[ns]" if name.endswith("_date") else object)
        for name in RATING_CHANGE_COLUMNS
    }
    return pd.DataFrame(columns)


def _bad(message: str, field: str, row: int | None = None) -> PayloadError:
    return PayloadError(SOURCE, message, field=field, row=row)


def _history(payload: Any, symbol: str) -> list[Any]:
    """The ``history`` list of a quote-summary payload (``[]`` when the module is absent)."""
    summary = payload.get("quoteSummary") if isinstance(payload, dict) else None
    if not isinstance(summary, dict):
        raise _bad("expected an object", "quoteSummary")
    error = summary.get("error")
    if error:
        text = error.get("description") if isinstance(error, dict) else str(error)
        raise _bad(f"{symbol}: {text}", "quoteSummary.error")
    results = summary.get("result")
    if not isinstance(results, list):
        raise _bad(f"expected a list, got {type(results).__name__}", "quoteSummary.result")
    if not results:
        return []
    if not isinstance(results[0], dict):
        raise _bad("expected an object", "quoteSummary.result", 0)
    module = results[0].get(MODULE)
    if module is None:
        return []
    if not isinstance(module, dict):
        raise _bad(f"expected an object, got {type(module).__name__}", MODULE)
    history = module.get("history", [])
    if not isinstance(history, list):
        raise _bad(f"expected a list, got {type(history).__name__}", f"{MODULE}.history")
    return history


def _epoch_seconds(item: dict[str, Any], row: int) -> int:
    value = item.get("epochGradeDate")
    if isinstance(value, dict):  # ``formatted=true`` style: {"raw": 1717632000, "fmt": ...}
        value = value.get("raw")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(f"expected integer epoch seconds, got {value!r:.40}", "epochGradeDate", row)
    if not 0 < value < LATEST_EPOCH_SECONDS:
        raise _bad(f"{value} is not epoch seconds before 2100", "epochGradeDate", row)
    return value


def _text(item: dict[str, Any], name: str, row: int, required: bool) -> str:
    value = item.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise _bad(f"expected {'non-empty ' if required else ''}text, got {value!r:.40}", name, row)
    return value.strip()


def _action(item: dict[str, Any], row: int) -> str:
    value = item.get("action")
    action = value.strip().lower() if isinstance(value, str) else value
    if action not in ACTIONS:
        raise _bad(f"expected one of {ACTIONS}, got {value!r:.40}", "action", row)
    return action


def _records(payload: Any, symbol: str) -> list[tuple[int, str, str, str, str]]:
    """Validated (epoch seconds, firm, action, from grade, to grade) of every history item."""
    records = []
    for row, item in enumerate(_history(payload, symbol)):
        if not isinstance(item, dict):
            raise _bad(f"expected an object, got {type(item).__name__}", "history", row)
        records.append(
            (
                _epoch_seconds(item, row),
                _text(item, "firm", row, required=True),
                _action(item, row),
                _text(item, "fromGrade", row, required=False),
                _text(item, "toGrade", row, required=False),
            )
        )
    return records


def _frame(records: list[tuple[str, int, str, str, str, str]]) -> pd.DataFrame:
    """The tidy frame of (ticker, epoch seconds, firm, action, from, to) records: the first
    of each natural key kept, sorted by (ticker, event_date, firm, action)."""
    if not records:
        return _empty_frame()
    tickers, seconds, firms, actions, from_grades, to_grades = zip(*records, strict=True)
    days = pd.to_datetime(list(seconds), unit="s").normalize().astype("datetime64[ns]")
    frame = pd.DataFrame(
        {
            "event_date": days,
            "known_date": days,
            "ticker": list(tickers),
            "firm": list(firms),
            "action": list(actions),
            "from_grade": list(from_grades),
            "to_grade": list(to_grades),
        },
        columns=list(RATING_CHANGE_COLUMNS),
    )
    frame = frame.drop_duplicates(NATURAL_KEY, keep="first")
    return frame.sort_values(
        ["ticker", "event_date", "firm", "action"], kind="mergesort", ignore_index=True
    )


def parse_rating_changes(payload: Any, symbol: str) -> pd.DataFrame:
    """One quote-summary payload as the tidy frame of :data:`RATING_CHANGE_COLUMNS`.

    See the module docstring for the columns, the key and the duplicate rule. Raises
    :class:`PayloadError` for a payload that is not a quote summary, a non-null
    ``quoteSummary.error``, and for a history item that is not an object or has a missing or
    non-integer ``epochGradeDate``, an empty ``firm``, an ``action`` outside :data:`ACTIONS`
    or a non-text grade (naming the field and the item's 0-based ``row``).
    """
    return _frame([(symbol, *record) for record in _records(payload, symbol)])


def fetch_rating_changes(
    client: AnalystRatingsClient, tickers: Iterable[str], start: dt.date, end: dt.date
) -> pd.DataFrame:
    """Rating changes of ``tickers`` issued on days ``start..end`` (UTC days, inclusive).

    One request per ticker (each returns the ticker's whole history: every item is
    validated, then cut to the range). Tickers Yahoo does not know (HTTP 404) contribute no
    rows. Sorted by (ticker, event_date, firm, action).
    """
    first = int(pd.Timestamp(start).tz_localize("UTC").timestamp())
    after_last = int((pd.Timestamp(end) + pd.Timedelta(days=1)).tz_localize("UTC").timestamp())
    kept: list[tuple[str, int, str, str, str, str]] = []
    unknown = 0
    for ticker in tickers:
        payload = client.upgrade_downgrade_history(ticker)
        if payload is None:
            unknown += 1
            continue
        kept += [
            (ticker, *record)
            for record in _records(payload, ticker)
            if first <= record[0] < after_last
        ]
    result = _frame(kept)
    log.info(
        "%s %s %s..%s: %d rows, %d tickers unknown",
        SOURCE,
        MODULE,
        start,
        end,
        len(result),
        unknown,
    )
    return result


def make_analyst_ratings_client(
    mode: DataMode, universe_size: int | None = None
) -> AnalystRatingsClient:
    """An analyst-ratings client for ``mode``, with Yahoo's session
    (:func:`~pas_pipeline.sources.session_auth.yahoo_session_auth`) in both modes.

    ``DataMode.SAMPLE``: the real client on :func:`sample_transport` with no rate limit,
    answered by :mod:`pas_pipeline.sources.sample.analyst_ratings` (through the Yahoo sample
    handler of the same host, which also serves the session's cookie and crumb;
    ``universe_size``, when given, selects the sample universe). ``DataMode.LIVE``: the real
    network with :data:`YAHOO_POLICY`.
    """
    if DataMode(mode) is DataMode.SAMPLE:
        from pas_pipeline.sources.sample import yahoo as sample_yahoo  # registers the hosts

        if universe_size is not None:
            sample_yahoo.reconfigure(size=int(universe_size))
        return AnalystRatingsClient(
            ApiClient(
                unlimited(YAHOO_POLICY), transport=sample_transport(), auth=yahoo_session_auth()
            )
        )
    return AnalystRatingsClient(ApiClient(YAHOO_POLICY, auth=yahoo_session_auth()))


__all__ = [
    "ACTIONS",
    "RATING_CHANGES_SCHEMA",
    "RATING_CHANGE_COLUMNS",
    "AnalystRatingsClient",
    "fetch_rating_changes",
    "make_analyst_ratings_client",
    "parse_rating_changes",
]
