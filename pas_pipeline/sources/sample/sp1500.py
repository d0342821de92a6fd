"""Sample-mode S&P 1500 sources: Wikipedia's three list pages and Yahoo's quote API, offline.

Importing this module registers :func:`handle_wikipedia_request` for ``en.wikipedia.org``
(and, through :mod:`pas_pipeline.sources.sample.yahoo`, whose handler forwards
``/v7/finance/quote`` to :func:`handle_quote_request`, the Yahoo host).

Both are generated FROM the sample universe (``sample_universe(size, seed)`` with size and
seed of :func:`pas_pipeline.sources.sample.yahoo.sample_config`), so the live code path
(:func:`pas_pipeline.sources.sp1500.fetch_sp1500_universe`) over the sample transport returns
exactly that universe: the same tickers, names, sectors, articles and market caps, plus an
``index`` column. The universe sorted by market cap (descending, ties by ticker) is split
into the three lists in the proportions 500 : 400 : 600 (:func:`sample_index_lists`).

``/w/api.php?action=parse&page=...&prop=wikitext&format=json[&formatversion=2]`` answers
``{"parse": {"title", "pageid", "wikitext"}}`` (formatversion 1: ``wikitext: {"*": ...}``).
Each page is written in its real page's layout, rows sorted by company name:

* S&P 500: ``|{{NyseSymbol|MMM}}`` on one line, then ``|[[3M]]|| Industrials || ...``;
* S&P 400: ``| style="border-color:inherit;" | {{NyseSymbol|AA}}``, one cell a line;
* S&P 600: ``|{{Anchor|A}}{{NyseSymbol|AAMI}}`` (an anchor on the first row of each letter),
  one cell a line;

followed by a "changes" table whose prose mentions tickers in templates (which a parser
must not read). An unknown page is ``{"error": {"code": "missingtitle", ...}}`` with HTTP
200, as MediaWiki answers; a missing ``page`` is ``missingparam``, another ``action``
``badvalue``.

``/v7/finance/quote?symbols=A,B-C,...`` answers ``{"quoteResponse": {"result": [...],
"error": null}}`` with one quote per known symbol, in request order (unknown symbols are
left out, as Yahoo does): ``symbol`` (Yahoo spelling), ``shortName``, ``longName``,
``quoteType`` ``EQUITY``, ``exchange`` (``NYQ``/``NMS``, matching the page's template),
``currency`` and ``marketCap``, the sample cap in USD (a float, so it round-trips exactly;
Yahoo sends whole dollars). No ``symbols`` is HTTP 400 with Yahoo's ``finance.error`` body.
Without Yahoo's session (the ``A3`` cookie and its ``crumb``, see
:func:`pas_pipeline.sources.sample.yahoo.session_error`) every quote request gets HTTP 401
``Invalid Crumb``.
"""

from __future__ import annotations

import json
import zlib
from functools import lru_cache
from typing import Any

import httpx
import pandas as pd

from pas_pipeline.sources.http import register_sample_handler
from pas_pipeline.sources.sample.yahoo import reconfigure, sample_size_seed, session_error
from pas_pipeline.sources.sp1500 import INDEX_PAGES, yahoo_symbol
from pas_pipeline.sources.universe import sample_universe

WIKIPEDIA_HOST = "en.wikipedia.org"
INDEX_SIZES = {"S&P 500": 500, "S&P 400": 400, "S&P 600": 600}
"""Relative sizes of the three lists (the real indices)."""
PAGE_IDS = {"S&P 500": 2676045, "S&P 400": 10498966, "S&P 600": 10500178}
"""Page ids served in ``parse.pageid`` (made-up but stable)."""

_SUB_INDUSTRY = {
    "Communication Services": "Interactive Media & Services",
    "Consumer Discretionary": "Specialty Retail",
    "Consumer Staples": "Packaged Foods & Meats",
    "Energy": "Oil & Gas Exploration & Production",
    "Financials": "Regional Banks",
    "Health Care": "Health Care Equipment",
    "Industrials": "Industrial Machinery & Supplies & Components",
    "Information Technology": "Application Software",
    "Materials": "Specialty Chemicals",
    "Real Estate": "Multi-Family Residential REITs",
    "Utilities": "Electric Utilities",
}
_CITIES = ("[[New York City]], New York", "[[Chicago]], Illinois", "[[Houston]], Texas")
_STYLE = 'style="border-color:inherit;"'

__all__ = [
    "handle_quote_request",
    "handle_wikipedia_request",
    "page_wikitext",
    "reconfigure",
    "sample_index_lists",
]


def _list_sizes(size: int) -> list[int]:
    """Rows of each list for a universe of ``size`` (rounded shares, summing to ``size``)."""
    total = sum(INDEX_SIZES.values())
    first = (size * INDEX_SIZES["S&P 500"] + total // 2) // total
    second = (size * INDEX_SIZES["S&P 400"] + total // 2) // total
    return [first, second, size - first - second]


@lru_cache(maxsize=4)
def _index_lists(size: int, seed: int) -> pd.DataFrame:
    universe = sample_universe(size, seed).sort_values(
        ["market_cap", "ticker"], ascending=[False, True], kind="mergesort", ignore_index=True
    )
    labels = [
        index for index, n in zip(INDEX_PAGES, _list_sizes(size), strict=True) for _ in range(n)
    ]
    return universe.assign(index=labels)


def sample_index_lists(size: int, seed: int) -> pd.DataFrame:
    """``sample_universe(size, seed)`` with the ``index`` of each company, largest cap first."""
    return _index_lists(int(size), int(seed)).copy()


def _template(ticker: str) -> str:
    """The exchange template of a ticker (deterministic: about half NYSE, half Nasdaq)."""
    return "NyseSymbol" if zlib.crc32(ticker.encode()) % 2 else "NasdaqSymbol"


def _cells(row: Any, number: int) -> tuple[str, str, str, str, str]:
    """(symbol, security, sector, sub-industry, headquarters) cells of one company."""
    title = row.wiki_article.replace("_", " ")
    security = f"[[{title}]]" if title == row.name else f"[[{title}|{row.name}]]"
    return (
        f"{{{{{_template(row.ticker)}|{row.ticker}}}}}",
        security,
        row.sector,
        _SUB_INDUSTRY[row.sector],
        _CITIES[number % len(_CITIES)],
    )


def _sp500_rows(rows: pd.DataFrame) -> list[str]:
    lines = [
        "![[Ticker symbol|Symbol]]",
        "! Security !! [[Global Industry Classification Standard|GICS]] Sector !! GICS "
        "Sub-Industry !! Headquarters Location !! Date added !! [[Central Index Key|CIK]] "
        "!! Founded",
    ]
    for number, row in enumerate(rows.itertuples(index=False)):
        symbol, security, sector, sub, city = _cells(row, number)
        cik = f"{zlib.crc32(row.ticker.encode()) % 2_000_000:010d}"
        founded = 1850 + number % 150
        lines += ["|-", f"|{symbol}", f"|{security}|| {sector} || {sub} || {city} || "]
        lines[-1] += f"1990-01-{1 + number % 28:02d} || {cik} || {founded}"
    return lines


def _sp400_rows(rows: pd.DataFrame) -> list[str]:
    lines = [
        f"! {_STYLE} | [[Symbol]]",
        f"! {_STYLE} | [[Public company|Security]]",
        "! [[Global Industry Classification Standard|GICS]] Sector",
        "! GICS Sub-Industry",
        "! Headquarters Location",
        "! [[SEC filings]]",
    ]
    for number, row in enumerate(rows.itertuples(index=False)):
        symbol, security, sector, sub, city = _cells(row, number)
        filings = (
            f"[https://www.sec.gov/cgi-bin/browse-edgar?CIK={row.ticker}&action=getcompany reports]"
        )
        lines += ["|-", f"| {_STYLE} | {symbol}", f"| {_STYLE} | {security}"]
        lines += [f"| {sector}", f"| {sub}", f"| {city}", f"| {filings}"]
    return lines


def _sp600_rows(rows: pd.DataFrame) -> list[str]:
    lines = [
        "! [[Ticker symbol|Symbol]]",
        "! [[Public company|Security]]",
        "! [[Global Industry Classification Standard|GICS]] Sector",
        "! GICS Sub-Industry",
        "! Headquarters Location",
        "! [[SEC filings]]",
        "! [[Central Index Key|CIK]]",
    ]
    letters: set[str] = set()
    for number, row in enumerate(rows.itertuples(index=False)):
        symbol, security, sector, sub, city = _cells(row, number)
        letter = row.name[:1].upper()
        anchor = "" if letter in letters else f"{{{{Anchor|{letter}}}}}"
        letters.add(letter)
        cik = f"{zlib.crc32(row.ticker.encode()) % 2_000_000:010d}"
        lines += ["|-", f"|{anchor}{symbol}", f"|{security}", f"| {sector}", f"| {sub}"]
        lines += [f"|{city}", f"| [https://www.sec.gov/edgar/browse/?CIK={cik} view]", f"|{cik}"]
    return lines


_LAYOUTS = {"S&P 500": _sp500_rows, "S&P 400": _sp400_rows, "S&P 600": _sp600_rows}


def _changes_table(index: str) -> list[str]:
    """A change log whose prose names tickers in templates, as the real pages' do."""
    return [
        f"== Selected changes to the list of {index} components ==",
        '{| class="wikitable sortable" id="changes"',
        "|-",
        '! rowspan="2" | Effective Date !! colspan="2" | Added !! colspan="2" | Removed',
        '! rowspan="2" | Reason',
        "|-",
        "! Ticker !! Security !! Ticker !! Security",
        "|-",
        "| January 2, 2024 || ZZQA || Zedquarry Holdings || ZZQB || Zedbrook Corp. ||",
        "Zedbrook was renamed to Zedquarry Holdings ({{NyseSymbol|ZZQA}}).",
        "|}",
    ]


@lru_cache(maxsize=12)
def _page(index: str, size: int, seed: int) -> str:
    lists = _index_lists(size, seed)
    rows = lists[lists["index"] == index].sort_values(["name", "ticker"], kind="mergesort")
    lines = [
        "{{Short description|None}}",
        f"The '''{index}''' is a [[stock market index]] maintained by [[S&P Dow Jones Indices]].",
        "",
        f"== {index} component stocks ==",
        '{| class="wikitable sortable sticky-header" id="constituents"',
        "|-",
        *_LAYOUTS[index](rows),
        "|}",
        "",
        *_changes_table(index),
        "",
        "== References ==",
        "{{Reflist}}",
    ]
    return "\n".join(lines)


def page_wikitext(index: str) -> str:
    """The wikitext served for ``index`` ("S&P 500", ...) under the current configuration."""
    return _page(index, *sample_size_seed())


def _json_response(status: int, payload: Any) -> httpx.Response:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return httpx.Response(
        status, content=body, headers={"content-type": "application/json; charset=utf-8"}
    )


def _api_error(code: str, info: str) -> httpx.Response:
    error = {"code": code, "info": info, "*": "See https://en.wikipedia.org/w/api.php for help."}
    return _json_response(200, {"error": error, "servedby": "mw-api-sample"})


def handle_wikipedia_request(request: httpx.Request) -> httpx.Response:
    """Answer one Action API request (see the module docstring)."""
    if request.method != "GET" or request.url.path != "/w/api.php":
        return httpx.Response(404, text="Not Found", headers={"content-type": "text/html"})
    params = request.url.params
    action = params.get("action", "")
    if action != "parse":
        return _api_error("badvalue", f'Unrecognized value for parameter "action": {action}.')
    page = params.get("page", "").replace("_", " ").strip()
    if not page:
        return _api_error(
            "missingparam", 'One of the parameters "title", "page", "pageid" is required.'
        )
    index = next((i for i, p in INDEX_PAGES.items() if p.replace("_", " ") == page), None)
    if index is None:
        return _api_error("missingtitle", "The page you specified doesn't exist.")
    text = page_wikitext(index)
    wikitext: Any = text if params.get("formatversion") == "2" else {"*": text}
    return _json_response(
        200, {"parse": {"title": page, "pageid": PAGE_IDS[index], "wikitext": wikitext}}
    )


@lru_cache(maxsize=4)
def _quotes(size: int, seed: int) -> dict[str, dict[str, Any]]:
    """Yahoo symbol -> quote object of every sample company."""
    quotes: dict[str, dict[str, Any]] = {}
    for row in sample_universe(size, seed).itertuples(index=False):
        nyse = _template(row.ticker) == "NyseSymbol"
        symbol = yahoo_symbol(row.ticker)
        quotes[symbol] = {
            "language": "en-US",
            "region": "US",
            "quoteType": "EQUITY",
            "typeDisp": "Equity",
            "currency": "USD",
            "exchange": "NYQ" if nyse else "NMS",
            "fullExchangeName": "NYSE" if nyse else "NasdaqGS",
            "market": "us_market",
            "shortName": row.name[:32],
            "longName": row.name,
            "marketCap": float(row.market_cap),
            "symbol": symbol,
        }
    return quotes


def handle_quote_request(request: httpx.Request) -> httpx.Response:
    """Answer one ``/v7/finance/quote`` request (see the module docstring)."""
    denied = session_error(request)
    if denied is not None:
        return denied
    wanted = [s.strip() for s in request.url.params.get("symbols", "").split(",") if s.strip()]
    if not wanted:
        error = {"code": "Bad Request", "description": 'Missing value for the "symbols" argument'}
        return _json_response(400, {"finance": {"result": None, "error": error}})
    quotes = _quotes(*sample_size_seed())
    result = [quotes[symbol] for symbol in wanted if symbol in quotes]
    return _json_response(200, {"quoteResponse": {"result": result, "error": None}})


register_sample_handler(WIKIPEDIA_HOST, handle_wikipedia_request)
