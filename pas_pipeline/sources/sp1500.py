"""The live investable universe: the S&P 1500 (S&P 500 + MidCap 400 + SmallCap 600).

Constituents come from English Wikipedia's three list pages through the MediaWiki Action API
(no key; the documented User-Agent of :data:`pas_pipeline.sources.http.USER_AGENT`):
``GET https://en.wikipedia.org/w/api.php?action=parse&page=List_of_S%26P_500_companies
&prop=wikitext&format=json&formatversion=2&redirects=1`` answers ``{"parse": {"title",
"pageid", "wikitext": "..."}}`` (without ``formatversion=2`` the text sits in
``wikitext["*"]``, also accepted). A page that does not exist is HTTP 200 with
``{"error": {"code": "missingtitle", "info": ...}}``, raised as :class:`PayloadError`.

The constituents table is the first wikitable whose header names a symbol column
(``Symbol``/``Ticker symbol``/``Ticker``), a security column (``Security``/``Company``) and a
sector column (``GICS Sector``/``Sector``); columns are located by that header text, never by
position. Rows are separated by ``|-``; a cell starts a line with ``|`` (or ``||``) or follows
``||`` on the same line; a leading ``attributes |`` (the S&P 400's ``style="..." |``) is
dropped; lines that start with neither continue the previous cell. Only that table is read,
so ticker templates in the change-log prose further down the page are never picked up.

Cell rules:

* Symbol: ``{{NyseSymbol|XOM}}``, ``{{NasdaqSymbol|AAPL}}``, ``{{BZX link|CBOE}}``,
  ``{{NYSE Arca|X}}``, ``{{nyse|X}}``, ``{{NASDAQ|X}}`` (any capitalisation) give their
  argument; ``{{Anchor|...}}`` is dropped; plain text, ``'''bold'''``, ``[[Target|X]]`` and
  ``[https://... X]`` give their text. Tickers are upper case with a dot before a share
  class (``BRK.B``; ``BRK-B`` and ``BRK/B`` are rewritten), the form
  :data:`pas_pipeline.schemas.SYMBOL_COLUMN` accepts.
* Security: ``[[Apple Inc.]]`` -> name and article "Apple Inc."; ``[[Alphabet Inc.|Alphabet
  Inc. (Class A)]]`` -> name "Alphabet Inc." (a trailing ``(Class X)`` is dropped) and
  article "Alphabet_Inc."; "Coca-Cola Company (The)" -> "The Coca-Cola Company". A cell
  without a link (a company without an article, about one row in six on the 400/600 pages)
  gets the name's own title (:func:`pas_pipeline.sources.universe.wiki_article`); page views
  of a missing article are HTTP 404, i.e. no rows.
* GICS Sector: one of :data:`pas_pipeline.sources.universe.SECTORS` (case-insensitive).

HTML comments and ``<ref>`` footnotes are removed first. Any other template, an empty or
malformed ticker, a missing name or an unknown sector raises :class:`PayloadError` naming
the field (``Symbol``, ``Security`` or ``GICS Sector``) and the 0-based data row.

Market caps come from Yahoo Finance's quote API, 100 symbols a request:
``GET https://query2.finance.yahoo.com/v7/finance/quote?symbols=AAPL,BRK-B,...`` answers
``{"quoteResponse": {"result": [{"symbol", "marketCap", "shortName", "quoteType", ...}],
"error": null}}``. Yahoo spells share classes with a dash (``BRK-B``): symbols are
translated both ways. Symbols Yahoo does not know are simply absent from ``result``; a
quote without ``marketCap`` also counts as "no market cap". Yahoo wants a session cookie and
a ``crumb`` query parameter: :func:`make_quote_client` gives the client's :class:`ApiClient`
:func:`~pas_pipeline.sources.session_auth.yahoo_session_auth` (in both modes), which gets the
cookie from ``https://fc.yahoo.com/`` and the crumb from
``https://query1.finance.yahoo.com/v1/test/getcrumb`` before the first call, sends both on
every call and renews them once on HTTP 401 (``Invalid Crumb``); a 401 that persists, or a
failed bootstrap, is raised as :class:`SourceAuthError`.

:func:`fetch_sp1500_universe` combines them (rules in its docstring) into the frame of
:data:`UNIVERSE_COLUMNS`:

============= ============== ==========================================================
column        dtype          meaning
============= ============== ==========================================================
ticker        object (str)   symbol, share class after a dot (``BRK.B``)
name          object (str)   the company name as Wikipedia lists it (markup removed)
sector        object (str)   GICS sector, one of :data:`~pas_pipeline.sources.universe.SECTORS`
market_cap    float64        USD, Yahoo's ``marketCap`` at request time (> 0)
wiki_article  object (str)   English Wikipedia title, underscores (``Alphabet_Inc.``)
index         object (str)   ``"S&P 500"``, ``"S&P 400"`` or ``"S&P 600"``
============= ============== ==========================================================

It is a snapshot of today's membership, not point in time: a backtest over it has
survivorship bias (companies that left the indices are missing).
"""

from __future__ import annotations

import html
import logging
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pandera.pandas as pa

from pas_pipeline.config import DataMode
from pas_pipeline.schemas import SYMBOL_COLUMN, TEXT_COLUMN, validate_frame
from pas_pipeline.sources.errors import PayloadError
from pas_pipeline.sources.http import ApiClient, ApiPolicy, sample_transport, unlimited
from pas_pipeline.sources.session_auth import yahoo_session_auth
from pas_pipeline.sources.universe import SECTORS, wiki_article
from pas_pipeline.sources.yahoo import YAHOO_POLICY, pipeline_ticker, yahoo_symbol

log = logging.getLogger(__name__)

WIKIPEDIA_SOURCE = "wikipedia"
QUOTE_SOURCE = "yahoo"
ACTION_API_PATH = "/w/api.php"
QUOTE_PATH = "/v7/finance/quote"
QUOTE_BATCH_SIZE = 100
"""Symbols per quote request (yfinance and most clients stay at or below 100)."""

INDEX_PAGES: dict[str, str] = {
    "S&P 500": "List_of_S&P_500_companies",
    "S&P 400": "List_of_S&P_400_companies",
    "S&P 600": "List_of_S&P_600_companies",
}
"""Index name -> Wikipedia page title, in priority order (large caps first)."""

CONSTITUENT_COLUMNS = ("ticker", "name", "sector", "wiki_article", "index")
UNIVERSE_COLUMNS = ("ticker", "name", "sector", "market_cap", "wiki_article", "index")

SYMBOL_FIELD = "Symbol"
SECURITY_FIELD = "Security"
SECTOR_FIELD = "GICS Sector"
_HEADER_NAMES: dict[str, tuple[str, ...]] = {
    SYMBOL_FIELD: ("symbol", "ticker symbol", "ticker"),
    SECURITY_FIELD: ("security", "company"),
    SECTOR_FIELD: ("gics sector", "sector"),
}
"""Accepted header texts (lower case, markup removed) of each column the parser reads."""

TICKER_TEMPLATES = frozenset(
    {"nysesymbol", "nasdaqsymbol", "bzx link", "nyse arca", "nyse", "nasdaq", "nyse american"}
)
"""Exchange templates whose last argument is the ticker (names lower-cased, ``_`` = space)."""
DECORATIVE_TEMPLATES = frozenset({"anchor", "anchors"})
"""Templates that render nothing in a cell and are dropped."""
WRAPPING_TEMPLATES = frozenset({"nowrap", "nobr"})
"""Templates that render their (single) argument unchanged."""

WIKIPEDIA_POLICY = ApiPolicy(
    name=WIKIPEDIA_SOURCE,
    base_url="https://en.wikipedia.org",
    requests_per_second=1.0,
    burst=3,
    max_retries=5,
    backoff_base_seconds=1.0,
    backoff_cap_seconds=60.0,
    timeout_seconds=30.0,
)
"""Three requests a run; serial and at most one a second as the API etiquette asks."""

UNIVERSE_SCHEMA = pa.DataFrameSchema(
    {
        "ticker": SYMBOL_COLUMN,
        "name": TEXT_COLUMN,
        "sector": pa.Column(str, pa.Check.isin(list(SECTORS)), nullable=False),
        "market_cap": pa.Column(
            "float64", [pa.Check.gt(0), pa.Check(math.isfinite, element_wise=True)]
        ),
        "wiki_article": pa.Column(str, pa.Check.str_matches(r"^\S+$"), nullable=False),
        "index": pa.Column(str, pa.Check.isin(list(INDEX_PAGES)), nullable=False),
    },
    unique=["ticker"],
    strict=True,
    ordered=True,
    name="sp1500_universe",
)
"""The S&P 1500 universe: valid symbols (one row each), a GICS sector, a positive finite
market cap (USD), a title without spaces and the index the company belongs to."""

_TICKER = re.compile(r"^[A-Z][A-Z0-9]{0,5}(?:\.[A-Z0-9]{1,2})?$")
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_REF = re.compile(r"<ref[^>]*/>|<ref[^>]*>.*?</ref>", re.S | re.I)
_TEMPLATE = re.compile(r"\{\{([^{}]*)\}\}")
_LINK = re.compile(r"\[\[([^\[\]|]*)(?:\|([^\[\]]*))?\]\]")
_EXTERNAL = re.compile(r"\[(?:https?:)?//[^\s\]]+(?:\s+([^\]]*))?\]")
_TAG = re.compile(r"<[^>]+>")
_CLASS_SUFFIX = re.compile(r"\s*\((?:Class|Series)\s+[A-Z0-9]{1,2}(?:\s+shares)?\)$", re.I)
_LEADING_ARTICLE = re.compile(r"^(?P<base>.+?),?\s*\((?P<article>The|A|An)\)$")


# --- clients ---------------------------------------------------------------------------


class WikipediaClient:
    """Page wikitext from the MediaWiki Action API through a shared :class:`ApiClient`."""

    def __init__(self, api: ApiClient) -> None:
        self.api = api

    def __enter__(self) -> WikipediaClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.api.close()

    def page_wikitext(self, page: str) -> str:
        """The current wikitext of ``page`` (title with spaces or underscores)."""
        params = {
            "action": "parse",
            "page": page,
            "prop": "wikitext",
            "format": "json",
            "formatversion": "2",
            "redirects": "1",
        }
        return parse_wikitext_payload(self.api.get_json(ACTION_API_PATH, params), page)


class YahooQuoteClient:
    """Raw quote payloads from Yahoo's ``/v7/finance/quote`` through a shared :class:`ApiClient`.

    Yahoo's session (cookie and ``crumb``) is the ``api``'s auth (see :func:`make_quote_client`).
    """

    def __init__(self, api: ApiClient) -> None:
        self.api = api

    def __enter__(self) -> YahooQuoteClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.api.close()

    def quotes(self, yahoo_symbols: Sequence[str]) -> Any:
        """The raw payload for at most :data:`QUOTE_BATCH_SIZE` symbols in Yahoo's spelling."""
        if not 0 < len(yahoo_symbols) <= QUOTE_BATCH_SIZE:
            raise ValueError(f"ask for 1 to {QUOTE_BATCH_SIZE} symbols, got {len(yahoo_symbols)}")
        params = {"symbols": ",".join(yahoo_symbols)}
        return self.api.get_json(QUOTE_PATH, params)


# --- wikitext --------------------------------------------------------------------------


def parse_wikitext_payload(payload: Any, page: str) -> str:
    """The wikitext of an ``action=parse`` answer (formatversion 2 or 1).

    Raises :class:`PayloadError` for an API ``error`` object (field ``error``, e.g.
    ``missingtitle``) or a body without ``parse.wikitext`` text.
    """
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        error = payload["error"]
        raise PayloadError(
            WIKIPEDIA_SOURCE, f"{page}: {error.get('code')}: {error.get('info')}", "error"
        )
    parsed = payload.get("parse") if isinstance(payload, dict) else None
    text = parsed.get("wikitext") if isinstance(parsed, dict) else None
    if isinstance(text, dict):  # formatversion=1: {"*": "..."}
        text = text.get("*")
    if not isinstance(text, str):
        raise PayloadError(WIKIPEDIA_SOURCE, f"{page}: no wikitext text", "parse.wikitext")
    return text


def _split_top_level(text: str, separator: str) -> list[str]:
    """``text`` split at ``separator`` outside ``[[...]]`` and ``{{...}}``."""
    if separator not in text:
        return [text]
    parts: list[str] = []
    depth = 0
    start = 0
    for token in re.finditer(r"\[\[|\]\]|\{\{|\}\}|" + re.escape(separator), text):
        kind = token.group()
        if kind in ("[[", "{{"):
            depth += 1
        elif kind in ("]]", "}}"):
            depth = max(0, depth - 1)
        elif depth == 0:
            parts.append(text[start : token.start()])
            start = token.end()
    parts.append(text[start:])
    return parts


def _cell_content(cell: str) -> str:
    """A cell without its ``attributes |`` prefix (the first top-level single pipe)."""
    pieces = _split_top_level(cell, "|")
    return "|".join(pieces[1:]) if len(pieces) > 1 else cell


def _line_cells(line: str, marker: str) -> list[str]:
    """The cells a table line starting with ``marker`` (``|`` or ``!``) holds."""
    body = line[1:]
    if body.startswith(marker):  # "|| cell" at the start of a line is one delimiter
        body = body[1:]
    return [_cell_content(cell).strip() for cell in _split_top_level(body, marker * 2)]


def _tables(wikitext: str) -> list[list[str]]:
    """The lines of every top-level table (``{|`` to its depth-matched ``|}``)."""
    tables: list[list[str]] = []
    current: list[str] | None = None
    depth = 0
    for raw in wikitext.splitlines():
        line = raw.strip()
        if line.startswith("{|"):
            depth += 1
            if depth == 1:
                current = []
                continue
        elif line.startswith("|}"):
            depth -= 1
            if depth == 0 and current is not None:
                tables.append(current)
                current = None
            depth = max(depth, 0)
            continue
        if current is not None:
            current.append(line if depth == 1 else " " + line)
    if current is not None:  # never closed: keep what there is
        tables.append(current)
    return tables


def _rows(lines: list[str]) -> list[tuple[list[str], list[str]]]:
    """(header cells, data cells) of each ``|-``-separated row of a table."""
    rows: list[tuple[list[str], list[str]]] = []
    header: list[str] = []
    cells: list[str] = []
    for line in [*lines, "|-"]:
        if line.startswith("|-"):
            if header or cells:
                rows.append((header, cells))
            header, cells = [], []
        elif line.startswith("|+"):
            continue  # caption
        elif line.startswith("!"):
            header += _line_cells(line, "!")
        elif line.startswith("|"):
            cells += _line_cells(line, "|")
        elif line and cells:  # continuation of a multi-line cell
            cells[-1] = f"{cells[-1]}\n{line}".strip()
        elif line and header:
            header[-1] = f"{header[-1]} {line}".strip()
    return rows


def _render(text: str) -> str:
    """Plain text of a cell: links become their display text, markup and templates go."""
    text = _LINK.sub(lambda m: m.group(2) if m.group(2) is not None else m.group(1), text)
    text = _EXTERNAL.sub(lambda m: m.group(1) or "", text)
    text = _TEMPLATE.sub("", text)
    text = _TAG.sub("", text).replace("'''", "").replace("''", "")
    return " ".join(html.unescape(text).replace("\u00a0", " ").split())


def _header_positions(header: list[str]) -> dict[str, int] | None:
    """Column position of each field, or ``None`` when the header lacks one of them."""
    texts = [_render(cell).lower() for cell in header]
    positions: dict[str, int] = {}
    for field, names in _HEADER_NAMES.items():
        found = next((i for i, text in enumerate(texts) if text in names), None)
        if found is None:
            return None
        positions[field] = found
    return positions


def _constituents_table(wikitext: str, page: str) -> tuple[dict[str, int], list[list[str]]]:
    """Column positions and data rows of the first table with the constituents' headers."""
    text = _REF.sub("", _COMMENT.sub("", wikitext))
    for lines in _tables(text):
        rows = _rows(lines)
        header = next((head for head, _ in rows if head), [])
        positions = _header_positions(header)
        if positions is not None:
            return positions, [cells for _, cells in rows if cells]
    fields = ", ".join(_HEADER_NAMES)
    raise PayloadError(
        WIKIPEDIA_SOURCE, f"{page}: no table with the columns {fields}", "parse.wikitext"
    )


def _templates(cell: str, field: str, row: int, allowed: frozenset[str]) -> str:
    """``cell`` with decorative templates removed, wrapping ones unwrapped and every
    template of ``allowed`` replaced by its last argument; any other template is an error."""

    def replace(match: re.Match[str]) -> str:
        parts = [part.strip() for part in match.group(1).split("|")]
        name = parts[0].lower().replace("_", " ")
        if name in DECORATIVE_TEMPLATES:
            return ""
        if (name in WRAPPING_TEMPLATES or name in allowed) and len(parts) > 1:
            return parts[-1]
        raise PayloadError(
            WIKIPEDIA_SOURCE, f"unknown template {match.group(0)!r:.60}", field=field, row=row
        )

    previous = None
    while previous != cell:  # innermost first, so nested templates unwrap too
        previous, cell = cell, _TEMPLATE.sub(replace, cell)
    return cell


def parse_ticker(cell: str, row: int = 0) -> str:
    """The ticker of a Symbol cell (see the module docstring), ``BRK.B`` style.

    Raises :class:`PayloadError` (field ``Symbol``, ``row``) for an unknown template or a
    text that is not a ticker.
    """
    text = _render(_templates(cell, SYMBOL_FIELD, row, TICKER_TEMPLATES))
    ticker = text.upper().replace(" ", "").replace("-", ".").replace("/", ".")
    if not _TICKER.match(ticker):
        raise PayloadError(
            WIKIPEDIA_SOURCE, f"not a ticker: {cell!r:.60}", field=SYMBOL_FIELD, row=row
        )
    return ticker


def _company_name(display: str) -> str:
    name = _CLASS_SUFFIX.sub("", display).strip()
    match = _LEADING_ARTICLE.match(name)
    return f"{match['article']} {match['base'].strip()}" if match else name


def parse_security(cell: str, row: int = 0) -> tuple[str, str]:
    """(company name, Wikipedia title with underscores) of a Security cell.

    The title is the first wikilink's target (first letter upper case, ``#section`` cut);
    without a link it is the name's own title. Raises :class:`PayloadError` (field
    ``Security``, ``row``) for an unknown template or an empty name.
    """
    text = _templates(cell, SECURITY_FIELD, row, frozenset())
    name = _company_name(_render(text))
    if not name:
        raise PayloadError(
            WIKIPEDIA_SOURCE, f"no company name in {cell!r:.60}", field=SECURITY_FIELD, row=row
        )
    link = _LINK.search(text)
    target = html.unescape(link.group(1)).split("#", 1)[0].strip() if link else ""
    title = wiki_article(" ".join(target.split())) if target else wiki_article(name)
    return name, title[:1].upper() + title[1:]


def parse_sector(cell: str, row: int = 0) -> str:
    """The GICS sector of a cell, spelled as in :data:`SECTORS` (matched case-insensitively)."""
    text = _render(_templates(cell, SECTOR_FIELD, row, frozenset()))
    sector = next((name for name in SECTORS if name.lower() == text.lower()), None)
    if sector is None:
        raise PayloadError(
            WIKIPEDIA_SOURCE, f"unknown GICS sector {text!r:.60}", field=SECTOR_FIELD, row=row
        )
    return sector


def parse_constituents(wikitext: str, index: str) -> pd.DataFrame:
    """The constituents table of one list page as :data:`CONSTITUENT_COLUMNS`, in page order.

    ``index`` fills the ``index`` column (``"S&P 500"``...). A ticker repeated on the page
    keeps its first row (logged). Raises :class:`PayloadError` when no table has the three
    headers, or naming the field and the 0-based data row of a row with too few cells or a
    bad Symbol, Security or GICS Sector cell (see the module docstring).
    """
    positions, rows = _constituents_table(wikitext, index)
    records: list[tuple[str, str, str, str, str]] = []
    for row, cells in enumerate(rows):
        for field, position in positions.items():
            if position >= len(cells):
                raise PayloadError(
                    WIKIPEDIA_SOURCE,
                    f"{index}: row has {len(cells)} cells, no {field} cell",
                    field=field,
                    row=row,
                )
        ticker = parse_ticker(cells[positions[SYMBOL_FIELD]], row)
        name, article = parse_security(cells[positions[SECURITY_FIELD]], row)
        sector = parse_sector(cells[positions[SECTOR_FIELD]], row)
        records.append((ticker, name, sector, article, index))
    frame = pd.DataFrame(records, columns=list(CONSTITUENT_COLUMNS), dtype=object)
    repeated = frame["ticker"].duplicated()
    if repeated.any():
        log.warning(
            "%s: tickers listed twice, first row kept: %s", index, list(frame["ticker"][repeated])
        )
        frame = frame[~repeated].reset_index(drop=True)
    return frame


# --- quotes ----------------------------------------------------------------------------


def _market_cap(item: dict[str, Any], row: int) -> float:
    value = item.get("marketCap")
    if isinstance(value, dict):  # formatted=true style: {"raw": 3.1e12, "fmt": "3.1T"}
        value = value.get("raw")
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PayloadError(
            QUOTE_SOURCE, f"expected a number, got {value!r:.40}", field="marketCap", row=row
        )
    cap = float(value)
    if not math.isfinite(cap) or cap < 0:
        raise PayloadError(QUOTE_SOURCE, f"not a market cap: {value!r}", "marketCap", row)
    return cap if cap > 0 else math.nan


def parse_quotes(payload: Any) -> dict[str, float]:
    """``Yahoo symbol -> marketCap`` (USD; NaN when absent or zero) of one quote payload.

    Raises :class:`PayloadError` for a body that is not ``{"quoteResponse": {"result": [...]}}``,
    a non-null ``quoteResponse.error``, or naming the 0-based position in ``result`` of an
    item that is not an object, has no text ``symbol`` or a non-numeric/negative ``marketCap``.
    """
    response = payload.get("quoteResponse") if isinstance(payload, dict) else None
    if not isinstance(response, dict):
        raise PayloadError(QUOTE_SOURCE, "expected an object", "quoteResponse")
    if response.get("error"):
        error = response["error"]
        text = error.get("description") if isinstance(error, dict) else str(error)
        raise PayloadError(QUOTE_SOURCE, str(text), "quoteResponse.error")
    results = response.get("result")
    if not isinstance(results, list):
        got = type(results).__name__
        raise PayloadError(QUOTE_SOURCE, f"expected a list, got {got}", "quoteResponse.result")
    caps: dict[str, float] = {}
    for row, item in enumerate(results):
        if not isinstance(item, dict):
            raise PayloadError(QUOTE_SOURCE, "expected an object", "quoteResponse.result", row)
        symbol = item.get("symbol")
        if not isinstance(symbol, str) or not symbol.strip():
            raise PayloadError(QUOTE_SOURCE, f"expected text, got {symbol!r:.40}", "symbol", row)
        caps[symbol.strip().upper()] = _market_cap(item, row)
    return caps


def fetch_market_caps(client: YahooQuoteClient, tickers: Iterable[str]) -> pd.Series:
    """Market cap (USD, float64) of each ticker, indexed by ticker in the given order.

    One request per :data:`QUOTE_BATCH_SIZE` tickers (in Yahoo's spelling). A ticker absent
    from the answers, or quoted without ``marketCap``, is NaN.
    """
    wanted = list(dict.fromkeys(tickers))
    caps: dict[str, float] = {}
    for start in range(0, len(wanted), QUOTE_BATCH_SIZE):
        batch = [yahoo_symbol(ticker) for ticker in wanted[start : start + QUOTE_BATCH_SIZE]]
        caps.update(parse_quotes(client.quotes(batch)))
    values = [caps.get(yahoo_symbol(ticker), math.nan) for ticker in wanted]
    return pd.Series(values, index=pd.Index(wanted, name="ticker"), dtype="float64")


# --- the universe ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Dropped:
    """Rows removed on the way, for the log line."""

    cross_listed: list[str]
    share_classes: list[str]
    no_market_cap: list[str]


def _combine(lists: Sequence[pd.DataFrame], caps: pd.Series) -> tuple[pd.DataFrame, _Dropped]:
    listed = pd.concat(lists, ignore_index=True)
    cross = listed["ticker"].duplicated()
    frame = listed[~cross].assign(market_cap=listed["ticker"][~cross].map(caps).astype("float64"))
    missing = frame["market_cap"].isna()
    kept = frame[~missing]
    classes = kept["wiki_article"].duplicated()
    dropped = _Dropped(
        cross_listed=list(listed["ticker"][cross]),
        share_classes=list(kept["ticker"][classes]),
        no_market_cap=list(frame["ticker"][missing]),
    )
    result = kept[~classes].sort_values(
        ["market_cap", "ticker"], ascending=[False, True], kind="mergesort"
    )
    return result[list(UNIVERSE_COLUMNS)].reset_index(drop=True), dropped


def fetch_sp1500_universe(
    wiki_client: WikipediaClient, quote_client: YahooQuoteClient
) -> pd.DataFrame:
    """The S&P 1500 as the frame of :data:`UNIVERSE_COLUMNS`, largest market cap first.

    Three Wikipedia requests (:data:`INDEX_PAGES`) and ``ceil(n / 100)`` Yahoo requests.
    Rules, in order:

    1. A ticker on more than one page (the pages are edited separately, so a company that
       moved between indices can briefly be on both) keeps the row of the larger-cap index:
       S&P 500, then 400, then 600.
    2. A ticker without a market cap (absent from Yahoo's answer, or quoted without
       ``marketCap``) is dropped, with a warning listing them.
    3. Share classes of one company (rows with the same ``wiki_article``: GOOGL/GOOG,
       FOXA/FOX, NWSA/NWS) keep only the first listed (the class A line; the pages list
       classes in order), so a company is never held or counted twice.
    4. Sorted by ``market_cap`` descending, ties by ticker.

    Validated against :data:`UNIVERSE_SCHEMA` (a failure is a :class:`PayloadError`).
    """
    lists = [
        parse_constituents(wiki_client.page_wikitext(page), index)
        for index, page in INDEX_PAGES.items()
    ]
    tickers = pd.concat(lists)["ticker"].drop_duplicates()
    caps = fetch_market_caps(quote_client, tickers)
    frame, dropped = _combine(lists, caps)
    if dropped.no_market_cap:
        log.warning(
            "sp1500: %d tickers without a Yahoo market cap dropped: %s",
            len(dropped.no_market_cap),
            dropped.no_market_cap[:20],
        )
    log.info(
        "sp1500: %d companies (%s); %d cross-listed and %d extra share classes dropped",
        len(frame),
        ", ".join(f"{index} {count}" for index, count in frame["index"].value_counts().items()),
        len(dropped.cross_listed),
        len(dropped.share_classes),
    )
    validate_frame(UNIVERSE_SCHEMA, frame, WIKIPEDIA_SOURCE)
    return frame


# --- clients per mode ------------------------------------------------------------------


def _configure_sample(universe_size: int | None) -> None:
    from pas_pipeline.sources.sample import sp1500 as sample_sp1500  # registers both hosts

    if universe_size is not None:
        sample_sp1500.reconfigure(size=int(universe_size))


def make_wikipedia_client(mode: DataMode, universe_size: int | None = None) -> WikipediaClient:
    """A Wikipedia client for ``mode``.

    ``DataMode.SAMPLE``: the real client on :func:`sample_transport` with no rate limit,
    answered by :mod:`pas_pipeline.sources.sample.sp1500` (``universe_size``, when given,
    selects the sample universe, as for Yahoo). ``DataMode.LIVE``: the real network with
    :data:`WIKIPEDIA_POLICY`.
    """
    if DataMode(mode) is DataMode.SAMPLE:
        _configure_sample(universe_size)
        return WikipediaClient(ApiClient(unlimited(WIKIPEDIA_POLICY), transport=sample_transport()))
    return WikipediaClient(ApiClient(WIKIPEDIA_POLICY))


def make_quote_client(mode: DataMode, universe_size: int | None = None) -> YahooQuoteClient:
    """A Yahoo quote client for ``mode`` (same host and policy as the chart client:
    :data:`pas_pipeline.sources.yahoo.YAHOO_POLICY`) with Yahoo's session
    (:func:`~pas_pipeline.sources.session_auth.yahoo_session_auth`) in both modes; in sample
    mode the Yahoo sample hosts serve the cookie and the crumb too."""
    if DataMode(mode) is DataMode.SAMPLE:
        _configure_sample(universe_size)
        return YahooQuoteClient(
            ApiClient(
                unlimited(YAHOO_POLICY), transport=sample_transport(), auth=yahoo_session_auth()
            )
        )
    return YahooQuoteClient(ApiClient(YAHOO_POLICY, auth=yahoo_session_auth()))


def load_sp1500_universe(mode: DataMode, universe_size: int | None = None) -> pd.DataFrame:
    """:func:`fetch_sp1500_universe` with the clients of ``mode`` (closed afterwards)."""
    with (
        make_wikipedia_client(mode, universe_size) as wiki,
        make_quote_client(mode, universe_size) as quotes,
    ):
        return fetch_sp1500_universe(wiki, quotes)


__all__ = [
    "INDEX_PAGES",
    "QUOTE_BATCH_SIZE",
    "UNIVERSE_COLUMNS",
    "UNIVERSE_SCHEMA",
    "WIKIPEDIA_POLICY",
    "WikipediaClient",
    "YahooQuoteClient",
    "fetch_market_caps",
    "fetch_sp1500_universe",
    "load_sp1500_universe",
    "make_quote_client",
    "make_wikipedia_client",
    "parse_constituents",
    "parse_quotes",
    "parse_sector",
    "parse_security",
    "parse_ticker",
    "parse_wikitext_payload",
    "pipeline_ticker",
    "yahoo_symbol",
]
