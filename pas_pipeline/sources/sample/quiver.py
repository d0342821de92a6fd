"""Sample-mode Quiver Quantitative API: five datasets in their real JSON shape, offline.

Importing this module registers :func:`handle_request` for ``api.quiverquant.com``. It answers

- ``/beta/bulk/congresstrading`` (``version=V2`` rows; ``V1`` or no version gives V1 rows),
  filtered by ``date`` (the **filing** day, ``Filed``), ``ticker``, ``bioguide_id``,
  ``representative``; without ``date`` the whole history since 2018 is served;
- ``/beta/live/govcontractsall`` (``date`` = the announcement day, ``Date``);
- ``/beta/live/insiders`` (``date`` = the filing day, ``fileDate``; ``ticker``);
- ``/beta/live/lobbying`` (``date_from``/``date_to`` on ``Date``; default: the last 30 days);
- ``/beta/live/appratings`` (the last week of daily scrapes up to "today");

with ``page``/``page_size`` pagination on every path (no ``page_size`` = everything), a
bare JSON array per answer, HTTP 400 ``{"detail": ...}`` for a malformed parameter and the
HTML "Not Found" page for any other path. Nothing dated after "today" is served.

Everything is synthetic and deterministic: the rows of a (dataset, day) come from a random
generator seeded with (universe seed, dataset, day), over the tickers of
``sample_universe(size, seed)``, where size, seed and "today" are the Yahoo sample's
configuration (:func:`pas_pipeline.sources.sample.yahoo.configure_sample_market`), so both
sources describe the same universe. Magnitudes: congress ~30 disclosures per business day,
filed 5-45 days after the trade; contracts ~25 small awards per business day plus ~1-2 of
$50M or more; insiders ~60 Form 4 lines per business day, mostly S/A/M/F codes, ~7% P;
lobbying quarterly reports (in the 15 days before each LD-2 deadline) per lobbying company;
app ratings of ~60 tracked apps. :func:`signal_tickers` names a handful of companies with
persistently strong signals in every dataset (congressional buying, large awards, insider
buying, growing lobbying spend, rising app ratings and review counts). Politician IDs
``P000197``, ``M001204`` and ``C001047`` are the follow-the-leader politicians of the seed
strategies; their trades here are as synthetic as everyone else's.
"""

from __future__ import annotations

import datetime as dt
import json
import zlib
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import httpx
import numpy as np
import pandas as pd

from pas_pipeline.sources.http import register_sample_handler
from pas_pipeline.sources.sample.yahoo import (
    reconfigure,
    sample_config,
    sample_size_seed,
    sample_today,
)
from pas_pipeline.sources.universe import sample_universe

QUIVER_HOST = "api.quiverquant.com"
HISTORY_START = dt.date(2018, 1, 2)
"""No row is dated before the sample market's first session."""
SIGNAL_COUNT = 6

NOT_FOUND_HTML = """<!doctype html>
<html lang="en">
<head>
  <title>Not Found</title>
</head>
<body>
  <h1>Not Found</h1><p>The requested resource was not found on this server.</p>
</body>
</html>
"""

_DATASET_KEYS = {"congress": 1, "contracts": 2, "insiders": 3, "lobbying": 4, "apps": 5}

# --- configuration and universe ----------------------------------------------------------


@lru_cache(maxsize=8)
def _universe(size: int, seed: int) -> pd.DataFrame:
    frame = sample_universe(size, seed)
    frame["weight"] = np.sqrt(frame["market_cap"].to_numpy())
    frame["weight"] /= frame["weight"].sum()
    return frame


@lru_cache(maxsize=8)
def _names(size: int, seed: int) -> dict[str, str]:
    universe = _universe(size, seed)
    return dict(zip(universe["ticker"], universe["name"], strict=True))


@lru_cache(maxsize=8)
def _signal_tickers(size: int, seed: int) -> tuple[str, ...]:
    universe = _universe(size, seed)
    pool = min(len(universe), 300)
    rng = np.random.default_rng([seed, 0x51])
    picks = rng.choice(pool, size=min(SIGNAL_COUNT, pool), replace=False)
    return tuple(universe["ticker"].iloc[sorted(picks)])


def signal_tickers() -> tuple[str, ...]:
    """The companies with persistently strong signals in every sample dataset."""
    return _signal_tickers(*sample_size_seed())


def _rng(dataset: str, day: dt.date, seed: int) -> np.random.Generator:
    return np.random.default_rng([seed, _DATASET_KEYS[dataset], day.toordinal()])


def _pick_tickers(rng: np.random.Generator, size: int, seed: int, n: int) -> np.ndarray:
    universe = _universe(size, seed)
    return rng.choice(len(universe), size=n, p=universe["weight"].to_numpy())


def _base_price(ticker: str) -> float:
    return 10.0 + (zlib.crc32(ticker.encode()) % 39000) / 100.0


def _stamp(day: dt.date, seconds: int) -> str:
    return (dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=int(seconds))).isoformat()


def _business_day(day: dt.date) -> bool:
    return day.weekday() < 5


# --- congress ----------------------------------------------------------------------------

_STATES = (
    ("CA", "California"),
    ("TX", "Texas"),
    ("FL", "Florida"),
    ("NY", "New York"),
    ("PA", "Pennsylvania"),
    ("IL", "Illinois"),
    ("OH", "Ohio"),
    ("GA", "Georgia"),
    ("NC", "North Carolina"),
    ("MI", "Michigan"),
    ("VA", "Virginia"),
    ("WA", "Washington"),
    ("AZ", "Arizona"),
    ("TN", "Tennessee"),
    ("CO", "Colorado"),
)
_LAST_NAMES = [
    "Abbott",
    "Bennett",
    "Carver",
    "Dalton",
    "Ellison",
    "Fairbanks",
    "Garrison",
    "Hollis",
    "Ingram",
    "Jarvis",
    "Kessler",
    "Lockhart",
    "Merriman",
    "Norwood",
    "Osgood",
    "Prescott",
    "Quincy",
    "Radcliffe",
    "Sterling",
    "Thornton",
    "Underhill",
    "Vance",
    "Whitlock",
    "Yardley",
    "Ashford",
    "Blackwell",
    "Crandall",
    "Dunmore",
    "Everly",
    "Fenwick",
    "Galloway",
    "Hargrove",
    "Ives",
    "Kendrick",
    "Lindqvist",
    "Marlowe",
    "Northcutt",
]
_FIRST_NAMES = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Daniel",
    "Karen",
]
LEADERS = (
    ("Pelosi, Nancy", "P000197", "D", "House", "CA11", "California"),
    ("Meuser, Daniel", "M001204", "R", "House", "PA09", "Pennsylvania"),
    ("Capito, Shelley Moore", "C001047", "R", "Senate", None, "West Virginia"),
)
"""The follow-the-leader politicians: (Name, BioGuideID, Party, Chamber, District, State)."""

_SIZE_RANGES = (
    ("$1,001 - $15,000", 0.52),
    ("$15,001 - $50,000", 0.22),
    ("$50,001 - $100,000", 0.1),
    ("$100,001 - $250,000", 0.07),
    ("$250,001 - $500,000", 0.04),
    ("$500,001 - $1,000,000", 0.025),
    ("$1,000,001 - $5,000,000", 0.01),
    ("$5,000,001 - $25,000,000", 0.003),
    ("$25,000,001 - $50,000,000", 0.001),
    ("Over $50,000,000", 0.001),
)
_TRANSACTIONS = (
    ("Purchase", 0.5),
    ("Sale (Partial)", 0.28),
    ("Sale (Full)", 0.12),
    ("Sale", 0.06),
    ("Exchange", 0.04),
)


@lru_cache(maxsize=4)
def _politicians(seed: int) -> tuple[tuple[Any, ...], ...]:
    rng = np.random.default_rng([seed, 0xC0])
    roster = list(LEADERS)
    for i, last in enumerate(_LAST_NAMES):
        first = _FIRST_NAMES[rng.integers(len(_FIRST_NAMES))]
        abbr, state = _STATES[rng.integers(len(_STATES))]
        house = rng.random() < 0.8
        party = "I" if rng.random() < 0.03 else ("D" if rng.random() < 0.5 else "R")
        district = f"{abbr}{rng.integers(1, 30):02d}" if house else None
        bioguide = f"{last[0]}{900001 + i:06d}"
        chamber = "House" if house else "Senate"
        roster.append((f"{last}, {first}", bioguide, party, chamber, district, state))
    return tuple(roster)


def _choices(
    rng: np.random.Generator, options: tuple[tuple[str, float], ...], count: int
) -> list[str]:
    """``count`` labels drawn with the options' weights."""
    weights = np.array([weight for _, weight in options])
    return [options[i][0] for i in rng.choice(len(options), size=count, p=weights / weights.sum())]


def _choice(rng: np.random.Generator, options: tuple[tuple[str, float], ...]) -> str:
    return _choices(rng, options, 1)[0]


@lru_cache(maxsize=4096)
def _congress_day(day: dt.date, size: int, seed: int) -> tuple[dict[str, Any], ...]:
    """The V2 disclosures filed on ``day`` (every draw of the day is vectorised)."""
    if not _business_day(day):
        return ()
    rng = _rng("congress", day, seed)
    universe_tickers = _universe(size, seed)["ticker"].to_numpy()
    names = _names(size, seed)
    signals = _signal_tickers(size, seed)
    roster = _politicians(seed)
    count = int(rng.poisson(30))
    who = rng.integers(len(roster), size=count)
    picks = universe_tickers[_pick_tickers(rng, size, seed, count)]
    strong = rng.random(count) < np.where(who < len(LEADERS), 0.45, 0.15)
    signal_picks = rng.integers(len(signals), size=count)
    buys = rng.random(count) < 0.9
    transactions = _choices(rng, _TRANSACTIONS, count)
    sizes = _choices(rng, _SIZE_RANGES, count)
    kinds = rng.random(count)
    contracts = rng.integers(1, 50, size=count) * 5
    lags = rng.integers(5, 46, size=count)
    spouse = rng.random(count) < 0.2
    uploads = rng.integers(0, 36000, size=count)
    excess = rng.normal(np.where(strong, 1.5, 0.0), 8.0)
    next_day = day + dt.timedelta(days=1)
    rows = []
    for n in range(count):
        name, bioguide, party, chamber, district, state = roster[who[n]]
        if strong[n]:
            ticker = signals[signal_picks[n]]
            transaction = "Purchase" if buys[n] else "Sale (Partial)"
        else:
            ticker, transaction = str(picks[n]), transactions[n]
        company: str | None = names[ticker]
        ticker_type, description = "ST", None
        if kinds[n] < 0.05:
            ticker_type, description = "OP", f"Purchased {contracts[n]} call options"
        elif kinds[n] < 0.08:
            ticker, ticker_type, company = None, "OT", "U.S. Treasury Bill"
        rows.append(
            {
                "Ticker": ticker,
                "TickerType": ticker_type,
                "Company": company,
                "Traded": (day - dt.timedelta(days=int(lags[n]))).isoformat(),
                "Transaction": transaction,
                "Trade_Size_USD": sizes[n],
                "Status": "New",
                "Subholding": "Spouse" if spouse[n] else None,
                "Description": description,
                "Name": name,
                "BioGuideID": bioguide,
                "Filed": day.isoformat(),
                "Party": party,
                "District": district,
                "Chamber": chamber,
                "Comments": None,
                "Quiver_Upload_Time": _stamp(next_day, uploads[n]),
                "excess_return": f"{excess[n]:.9f}",
                "State": state,
                "last_modified": next_day.isoformat(),
            }
        )
    return tuple(rows)


def _as_v1(row: dict[str, Any]) -> dict[str, Any]:
    """A V2 row in the V1 ``CongressionalTrade`` shape."""
    last, _, first = str(row["Name"]).partition(", ")
    size = str(row["Trade_Size_USD"])
    lower = size.replace("Over ", "").split(" - ")[0].replace("$", "").replace(",", "")
    excess = float(row["excess_return"])
    return {
        "Representative": f"{first} {last}".strip(),
        "BioGuideID": row["BioGuideID"],
        "ReportDate": row["Filed"],
        "TransactionDate": row["Traded"],
        "Ticker": row["Ticker"],
        "Transaction": row["Transaction"],
        "Range": size,
        "District": row["District"],
        "House": "Representatives" if row["Chamber"] == "House" else "Senate",
        "Amount": f"{float(lower):.1f}",
        "Party": row["Party"],
        "last_modified": row["last_modified"],
        "TickerType": row["TickerType"],
        "Description": row["Description"],
        "ExcessReturn": round(excess, 2),
        "PriceChange": round(excess + 2.0, 2),
        "SPYChange": 2.0,
    }


# --- government contracts ----------------------------------------------------------------

_AGENCIES = (
    ("Department of Defense", 0.55),
    ("Department of Health and Human Services", 0.1),
    ("Department of Veterans Affairs", 0.08),
    ("Department of Energy", 0.06),
    ("Department of Homeland Security", 0.06),
    ("National Aeronautics and Space Administration", 0.05),
    ("General Services Administration", 0.05),
    ("Department of Transportation", 0.05),
)
_WORK = (
    "ENGINEERING AND TECHNICAL SUPPORT SERVICES",
    "SPARE PARTS AND REPAIR",
    "IT MODERNIZATION TASK ORDER",
    "FACILITY MAINTENANCE",
    "MEDICAL SUPPLIES",
    "SOFTWARE LICENSES AND SUPPORT",
    "LOGISTICS SUPPORT",
    "RESEARCH AND DEVELOPMENT",
    "PRODUCTION LOT",
    "SUSTAINMENT",
)
_CONTRACT_SECTORS = {"Industrials": 4.0, "Information Technology": 2.0, "Health Care": 2.0}


@lru_cache(maxsize=8)
def _contract_weights(size: int, seed: int) -> np.ndarray:
    universe = _universe(size, seed)
    tilt = universe["sector"].map(_CONTRACT_SECTORS).fillna(0.5).to_numpy()
    weights = universe["weight"].to_numpy() * tilt
    return weights / weights.sum()


@lru_cache(maxsize=4096)
def _contracts_day(day: dt.date, size: int, seed: int) -> tuple[dict[str, Any], ...]:
    """The awards announced on ``day``."""
    if not _business_day(day):
        return ()
    rng = _rng("contracts", day, seed)
    universe = _universe(size, seed)
    signals = _signal_tickers(size, seed)
    small, large = int(rng.poisson(25)), int(rng.poisson(1.2))
    picks = rng.choice(len(universe), size=small + large, p=_contract_weights(size, seed))
    tickers = [str(universe["ticker"].iloc[i]) for i in picks]
    amounts = list(np.clip(rng.lognormal(np.log(2e6), 1.3, size=small), 25e3, 49e6))
    amounts += list(np.minimum(50e6 * np.exp(rng.exponential(1.0, size=large)), 5e9))
    if rng.random() < 0.5:  # a signal name wins a large award every other day
        tickers.append(signals[rng.integers(len(signals))])
        amounts.append(float(np.minimum(60e6 * np.exp(rng.exponential(1.0)), 5e9)))
    rows = []
    for ticker, amount in zip(tickers, amounts, strict=True):
        agency = _choice(rng, _AGENCIES)
        action = day - dt.timedelta(days=int(rng.integers(0, 6)))
        lot = int(rng.integers(1, 40))
        rows.append(
            {
                "Ticker": ticker,
                "Date": day.isoformat(),
                "Description": f"{_WORK[rng.integers(len(_WORK))]} - LOT {lot}",
                "Agency": agency,
                "Amount": round(float(amount), 2),
                "action_date": action.isoformat(),
            }
        )
    return tuple(rows)


# --- insiders ----------------------------------------------------------------------------

_CODES = (("S", 0.38), ("A", 0.2), ("M", 0.18), ("F", 0.12), ("P", 0.07), ("G", 0.05))
_ACQUIRED = frozenset({"P", "A", "M"})
_TITLES = (
    "Chief Executive Officer",
    "Chief Financial Officer",
    "President",
    "EVP, General Counsel",
    "Chief Operating Officer",
    "SVP, Chief Accounting Officer",
)


@lru_cache(maxsize=4096)
def _insiders_day(day: dt.date, size: int, seed: int) -> tuple[dict[str, Any], ...]:
    """The Form 4 lines filed on ``day``."""
    if not _business_day(day):
        return ()
    rng = _rng("insiders", day, seed)
    universe = _universe(size, seed)
    signals = _signal_tickers(size, seed)
    count = int(rng.poisson(60))
    tickers = [str(universe["ticker"].iloc[i]) for i in _pick_tickers(rng, size, seed, count)]
    codes = [_choice(rng, _CODES) for _ in range(count)]
    for _ in range(int(rng.poisson(1.5))):  # directors and officers keep buying signal names
        tickers.append(signals[rng.integers(len(signals))])
        codes.append("P")
    rows = []
    for ticker, code in zip(tickers, codes, strict=True):
        officer = rng.random() < 0.6
        director = not officer or rng.random() < 0.2
        title = _TITLES[rng.integers(len(_TITLES))] if officer else None
        shares = float(np.round(rng.lognormal(np.log(10_000 if code == "P" else 5_000), 1.0)))
        price = _base_price(ticker) * float(np.exp(rng.normal(0.0, 0.05)))
        if code in ("A", "G"):
            price = 0.0
        elif code == "M":
            price *= 0.4
        filed = _stamp(day, 16 * 3600 + int(rng.integers(0, 6 * 3600)))
        uploaded = (dt.datetime.fromisoformat(filed) + dt.timedelta(minutes=20)).isoformat()
        last = _LAST_NAMES[rng.integers(len(_LAST_NAMES))]
        first = _FIRST_NAMES[rng.integers(len(_FIRST_NAMES))]
        rows.append(
            {
                "Ticker": f"(NYSE:{ticker})" if rng.random() < 0.02 else ticker,
                "Date": (day - dt.timedelta(days=int(rng.integers(0, 3)))).isoformat(),
                "Name": f"{last} {first}",
                "AcquiredDisposedCode": "A" if code in _ACQUIRED else "D",
                "TransactionCode": code,
                "Shares": shares,
                "PricePerShare": round(price, 2),
                "SharesOwnedFollowing": float(np.round(shares * rng.uniform(2, 50))),
                "fileDate": filed,
                "officerTitle": title,
                "isDirector": bool(director),
                "isOfficer": bool(officer),
                "isTenPercentOwner": False,
                "isOther": False,
                "directOrIndirectOwnership": "D" if rng.random() < 0.85 else "I",
                "uploaded": uploaded,
            }
        )
    return tuple(rows)


# --- lobbying ----------------------------------------------------------------------------

_ISSUES = (
    "Taxation/Internal Revenue Code",
    "Defense",
    "Health Issues",
    "Telecommunications",
    "Copyright/Patent/Trademark",
    "Energy/Nuclear",
    "Trade (Domestic & Foreign)",
    "Financial Institutions/Investments/Securities",
    "Science/Technology",
    "Transportation",
)
_FIRMS = (
    "AKIN GUMP STRAUSS HAUER & FELD",
    "BROWNSTEIN HYATT FARBER SCHRECK",
    "HOLLAND & KNIGHT LLP",
    "SQUIRE PATTON BOGGS",
    "COVINGTON & BURLING LLP",
    "K&L GATES LLP",
)
_LOBBYING_DAYS_BEFORE_DEADLINE = 15


def _next_deadline(day: dt.date) -> dt.date:
    """The next LD-2 deadline on or after ``day`` (20 January, April, July, October)."""
    for year in (day.year, day.year + 1):
        for month in (1, 4, 7, 10):
            deadline = dt.date(year, month, 20)
            if deadline >= day:
                return deadline
    raise AssertionError("unreachable")  # pragma: no cover


@lru_cache(maxsize=64)
def _lobbying_quarter(deadline: dt.date, size: int, seed: int) -> dict[dt.date, tuple[dict, ...]]:
    """Every report of the quarter due on ``deadline``, by filing day."""
    universe = _universe(size, seed)
    signals = set(_signal_tickers(size, seed))
    quarters = (deadline.year - HISTORY_START.year) * 4 + (deadline.month - 1) // 3
    rng = np.random.default_rng([seed, _DATASET_KEYS["lobbying"], deadline.toordinal()])
    by_day: dict[dt.date, list[dict]] = {}
    for position, company in enumerate(universe.itertuples(index=False)):
        stable = np.random.default_rng([seed, _DATASET_KEYS["lobbying"], position])
        lobbies = company.ticker in signals or stable.random() < (0.9 if position < 100 else 0.2)
        if not lobbies:
            continue
        base = 40_000 * (company.market_cap / 1e9) ** 0.35 * stable.lognormal(0.0, 0.5)
        growth = 1.12 if company.ticker in signals else 1.0 + stable.normal(0.0, 0.01)
        spend = base * growth**quarters * rng.lognormal(0.0, 0.15)
        filed = deadline - dt.timedelta(days=int(rng.integers(0, _LOBBYING_DAYS_BEFORE_DEADLINE)))
        while filed.weekday() >= 5:
            filed -= dt.timedelta(days=1)
        registrants = [company.name.upper()] + [
            _FIRMS[i] for i in rng.choice(len(_FIRMS), size=int(rng.integers(0, 3)), replace=False)
        ]
        shares = rng.dirichlet(np.ones(len(registrants)))
        for registrant, share in zip(registrants, shares, strict=True):
            amount = max(10_000.0, round(spend * share, -4))
            text = f"${amount:,.0f}" if rng.random() < 0.1 else f"{amount:.1f}"
            issue = _ISSUES[rng.integers(len(_ISSUES))]
            by_day.setdefault(filed, []).append(
                {
                    "Date": filed.isoformat(),
                    "Amount": text,
                    "Client": company.name.upper(),
                    "Issue": issue,
                    "Specific_Issue": f"Issues related to {issue.lower()}",
                    "Registrant": registrant,
                    "Ticker": company.ticker,
                }
            )
    return {day: tuple(rows) for day, rows in by_day.items()}


def _lobbying_day(day: dt.date, size: int, seed: int) -> tuple[dict[str, Any], ...]:
    deadline = _next_deadline(day)
    if (deadline - day).days > _LOBBYING_DAYS_BEFORE_DEADLINE:
        return ()
    return _lobbying_quarter(deadline, size, seed).get(day, ())


# --- app ratings -------------------------------------------------------------------------

_APP_SECTORS = ("Communication Services", "Consumer Discretionary", "Information Technology")
_APP_SUFFIXES = ("Mobile", "App", "- Shop & Save", "Wallet", "Play", "Connect")


@lru_cache(maxsize=8)
def _apps(size: int, seed: int) -> pd.DataFrame:
    """The tracked apps: ticker, app, publisher, created, base rating/count and trends."""
    universe = _universe(size, seed)
    signals = _signal_tickers(size, seed)
    consumer = universe[universe["sector"].isin(_APP_SECTORS)].head(55)
    chosen = pd.concat([consumer, universe[universe["ticker"].isin(signals)]])
    chosen = chosen.drop_duplicates("ticker")
    rng = np.random.default_rng([seed, _DATASET_KEYS["apps"]])
    rows = []
    for company in chosen.itertuples(index=False):
        strong = company.ticker in signals
        stem = company.name.split(" ")[0].rstrip(",.")
        for suffix in rng.choice(_APP_SUFFIXES, size=int(rng.integers(1, 3)), replace=False):
            rows.append(
                {
                    "ticker": company.ticker,
                    "app": f"{stem} {suffix}",
                    "publisher": company.name,
                    "created": dt.date(int(rng.integers(2009, 2018)), 1, 1)
                    + dt.timedelta(days=int(rng.integers(0, 365))),
                    "rating": 3.7 if strong else float(rng.uniform(3.0, 4.8)),
                    "trend": 0.25 if strong else float(rng.normal(0.0, 0.03)),
                    "count": float(rng.lognormal(np.log(50_000), 1.5)),
                    "growth": 0.9 if strong else float(rng.uniform(0.02, 0.25)),
                    "second": int(rng.integers(5 * 3600, 8 * 3600)),
                }
            )
    return pd.DataFrame(rows)


@lru_cache(maxsize=512)
def _apps_day(day: dt.date, size: int, seed: int) -> tuple[dict[str, Any], ...]:
    """One scrape of every tracked app on ``day``."""
    apps = _apps(size, seed)
    rng = _rng("apps", day, seed)
    years = (day - HISTORY_START).days / 365.25
    noise = rng.normal(0.0, 0.03, size=len(apps))
    rating = np.clip(apps["rating"] + apps["trend"] * years + noise, 1.0, 4.95)
    count = np.floor(apps["count"] * np.exp(apps["growth"] * years))
    return tuple(
        {
            "Ticker": app.ticker,
            "App": app.app,
            "Created": f"{app.created.isoformat()}T00:00:00",
            "Publisher": app.publisher,
            "Rating": round(float(rating.iloc[i]), 2),
            "Count": int(count.iloc[i]),
            "Time": _stamp(day, app.second),
        }
        for i, app in enumerate(apps.itertuples(index=False))
    )


# --- routing -----------------------------------------------------------------------------


class _BadRequest(Exception):
    pass


def _json_response(status: int, payload: Any) -> httpx.Response:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return httpx.Response(status, content=body, headers={"content-type": "application/json"})


def _not_found() -> httpx.Response:
    return httpx.Response(
        404, content=NOT_FOUND_HTML.encode(), headers={"content-type": "text/html; charset=utf-8"}
    )


def _day_param(params: httpx.QueryParams, name: str) -> dt.date | None:
    value = params.get(name)
    if value is None:
        return None
    try:
        return dt.datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        raise _BadRequest(f"Invalid {name} '{value}': use YYYYMMDD.") from None


def _int_param(params: httpx.QueryParams, name: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if not value.isdigit() or int(value) < 1:
        raise _BadRequest(f"Invalid {name} '{value}': expected a positive integer.")
    return int(value)


DayRows = Callable[[dt.date, int, int], tuple[dict[str, Any], ...]]


def _days(generator: DayRows, first: dt.date, last: dt.date) -> list[dict[str, Any]]:
    size, seed = sample_size_seed()
    first = max(first, HISTORY_START)
    last = min(last, sample_today())
    rows: list[dict[str, Any]] = []
    for n in range((last - first).days + 1):
        rows.extend(generator(first + dt.timedelta(days=n), size, seed))
    return rows


def _one_or_all_days(generator: DayRows, params: httpx.QueryParams) -> list[dict[str, Any]]:
    day = _day_param(params, "date")
    if day is None:
        return _days(generator, HISTORY_START, sample_today())
    return _days(generator, day, day)


def _congress(params: httpx.QueryParams) -> list[dict[str, Any]]:
    rows = _one_or_all_days(_congress_day, params)
    if bioguide := params.get("bioguide_id"):
        rows = [row for row in rows if row["BioGuideID"] == bioguide]
    if representative := params.get("representative"):
        wanted = representative.lower()
        rows = [row for row in rows if all(p in row["Name"].lower() for p in wanted.split())]
    if params.get("version", "V1").upper() != "V2":
        rows = [_as_v1(row) for row in rows]
    return rows


def _contracts(params: httpx.QueryParams) -> list[dict[str, Any]]:
    return _one_or_all_days(_contracts_day, params)


def _insiders(params: httpx.QueryParams) -> list[dict[str, Any]]:
    day = _day_param(params, "date")
    if day is None:
        day = sample_today()
    return _days(_insiders_day, day, day)


def _lobbying(params: httpx.QueryParams) -> list[dict[str, Any]]:
    last = _day_param(params, "date_to") or sample_today()
    first = _day_param(params, "date_from") or (last - dt.timedelta(days=30))
    return _days(_lobbying_day, first, last)


def _app_ratings(params: httpx.QueryParams) -> list[dict[str, Any]]:
    today = sample_today()
    return _days(_apps_day, today - dt.timedelta(days=6), today)


ROUTES: dict[str, Callable[[httpx.QueryParams], list[dict[str, Any]]]] = {
    "/beta/bulk/congresstrading": _congress,
    "/beta/live/govcontractsall": _contracts,
    "/beta/live/insiders": _insiders,
    "/beta/live/lobbying": _lobbying,
    "/beta/live/appratings": _app_ratings,
}


def _ticker_of(row: dict[str, Any]) -> str:
    return str(row.get("Ticker") or "").strip("()").split(":")[-1]


def handle_request(request: httpx.Request) -> httpx.Response:
    """Answer one Quiver request from the sample data (see the module docstring)."""
    route = ROUTES.get(request.url.path.rstrip("/"))
    if request.method != "GET" or route is None:
        return _not_found()
    params = request.url.params
    try:
        rows = route(params)
        page = _int_param(params, "page") or 1
        page_size = _int_param(params, "page_size")
    except _BadRequest as exc:
        return _json_response(400, {"detail": str(exc)})
    if ticker := params.get("ticker"):
        rows = [row for row in rows if _ticker_of(row) == ticker.upper()]
    if page_size is not None:
        rows = rows[(page - 1) * page_size : page * page_size]
    return _json_response(200, rows)


register_sample_handler(QUIVER_HOST, handle_request)

__all__ = [
    "LEADERS",
    "NOT_FOUND_HTML",
    "QUIVER_HOST",
    "ROUTES",
    "handle_request",
    "reconfigure",
    "sample_config",
    "signal_tickers",
]
