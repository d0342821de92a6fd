"""The investable universe: sector ETFs (real) and the sample-mode stock universe.

``sample_universe`` lists the real large caps of ``data/sample_companies.csv`` first (in
the file's order, roughly by size), then deterministic synthetic companies with plausible
names and tickers that can never be mistaken for a real listing in the file, an ETF, or a
common word a mention-counter would trip over (:data:`TICKER_STOPWORDS`).
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import numpy as np
import pandas as pd

SECTORS: tuple[str, ...] = (
    "Communication Services",
    "Consumer Discretionary",
    "Consumer Staples",
    "Energy",
    "Financials",
    "Health Care",
    "Industrials",
    "Information Technology",
    "Materials",
    "Real Estate",
    "Utilities",
)
"""The eleven GICS sectors, spelled exactly as in the data files."""

TICKER_STOPWORDS: frozenset[str] = frozenset(
    {
        "A",
        "I",
        "IT",
        "ALL",
        "DD",
        "CEO",
        "CFO",
        "CTO",
        "YOLO",
        "ON",
        "GO",
        "BE",
        "ARE",
        "FOR",
        "NOW",
        "ONE",
        "THE",
        "AND",
        "YOU",
        "CAN",
        "HAS",
        "NEW",
        "BIG",
        "OUT",
        "CASH",
        "MOON",
        "HOLD",
        "HODL",
        "BUY",
        "SELL",
        "PUT",
        "PUTS",
        "CALL",
        "EDIT",
        "LOVE",
        "GAIN",
        "LOSS",
        "BEAR",
        "BULL",
        "PUMP",
        "DUMP",
        "FUD",
        "ATH",
        "IPO",
        "ETF",
        "SEC",
        "USA",
        "USD",
        "EPS",
        "GDP",
        "FED",
        "IMO",
        "LOL",
        "WSB",
        "TLDR",
        "RIP",
        "OMG",
        "WTF",
        "EOD",
        "ITM",
        "OTM",
        "ATM",
        "API",
        "EV",
        "AI",
        "DOW",
        "NYSE",
        "OTC",
        "DTE",
        "IRS",
        "CPI",
        "FOMO",
        "EDGE",
        "GOOD",
        "BEST",
        "NEXT",
        "OPEN",
        "REAL",
        "LIFE",
        "FREE",
        "EVER",
        "VERY",
        "JUST",
        "LIKE",
        "NICE",
        "WELL",
        "SAFE",
        "RUN",
        "TWO",
        "BIO",
        "POST",
        "MEME",
        "APE",
        "APES",
        "GANG",
        "TEAM",
        "WIN",
        "BOOM",
        "BANG",
        "FAST",
        "HUGE",
        "PLAY",
        "DIP",
        "RED",
        "GREEN",
        "LONG",
        "SHORT",
    }
)
"""Upper-case words that are not allowed as synthetic tickers (they appear in ordinary text)."""

_SECTOR_WEIGHTS: dict[str, float] = {
    "Communication Services": 0.05,
    "Consumer Discretionary": 0.12,
    "Consumer Staples": 0.04,
    "Energy": 0.04,
    "Financials": 0.16,
    "Health Care": 0.12,
    "Industrials": 0.16,
    "Information Technology": 0.13,
    "Materials": 0.06,
    "Real Estate": 0.07,
    "Utilities": 0.05,
}
"""Share of synthetic companies per sector (roughly the S&P 1500's composition)."""

_NAME_HEADS = (
    "North",
    "South",
    "East",
    "West",
    "Blue",
    "Red",
    "Silver",
    "Gold",
    "Iron",
    "Stone",
    "Lake",
    "River",
    "Sun",
    "Star",
    "Pine",
    "Oak",
    "Maple",
    "Cedar",
    "Bright",
    "Clear",
    "High",
    "Great",
    "Summit",
    "Harbor",
    "Granite",
    "Copper",
    "Falcon",
    "Eagle",
    "Crescent",
    "Meridian",
)
_NAME_TAILS = (
    "field",
    "water",
    "ridge",
    "gate",
    "point",
    "brook",
    "crest",
    "view",
    "haven",
    "wood",
    "line",
    "bridge",
    "port",
    "vale",
)
_SECTOR_NOUNS: dict[str, tuple[str, ...]] = {
    "Communication Services": ("Media", "Communications", "Entertainment", "Interactive"),
    "Consumer Discretionary": ("Brands", "Retail", "Motors", "Apparel", "Restaurants", "Leisure"),
    "Consumer Staples": ("Foods", "Beverages", "Household Products", "Grocers"),
    "Energy": ("Energy", "Petroleum", "Resources", "Midstream"),
    "Financials": ("Bancorp", "Financial", "Capital", "Insurance", "Asset Management"),
    "Health Care": ("Therapeutics", "Biosciences", "Medical", "Health", "Pharmaceuticals"),
    "Industrials": ("Dynamics", "Industries", "Aerospace", "Logistics", "Machinery"),
    "Information Technology": ("Systems", "Software", "Semiconductor", "Networks", "Digital"),
    "Materials": ("Materials", "Chemicals", "Mining", "Metals", "Packaging"),
    "Real Estate": ("Realty", "Properties", "Residential", "Land"),
    "Utilities": ("Power", "Electric", "Utilities", "Water"),
}
_NAME_QUALIFIERS = ("", "", "", "", "", "", "Global", "American", "United", "National", "Pacific")
_NAME_ATTEMPTS = 1000
_NAME_SUFFIXES = ("Inc.", "Inc.", "Corp.", "Holdings Inc.", "Group Inc.", "Corporation")

_MEGA_CAP_USD = 3.5e12
"""Market cap of the first (largest) real company; the i-th gets ``_MEGA_CAP_USD * i**-0.8``."""
_SYNTHETIC_MEDIAN_CAP_USD = 6e9
_SYNTHETIC_CAP_SIGMA = 1.0
_SYNTHETIC_CAP_BOUNDS_USD = (2e8, 7e10)


def _read_csv(name: str) -> pd.DataFrame:
    with resources.files("pas_pipeline.data").joinpath(name).open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype=str, keep_default_na=False)


@cache
def _sector_etfs() -> pd.DataFrame:
    frame = _read_csv("sector_etfs.csv")
    frame["leverage"] = frame["leverage"].astype("float64")
    return frame


def sector_etfs() -> pd.DataFrame:
    """The sector ETFs: columns ``ticker, sector, leverage (float, 1 or 2), underlying``.

    The 11 SPDR sector funds have ``leverage == 1`` and ``underlying == ticker``; the
    ProShares Ultra (2x daily) funds name the SPDR fund of the same sector as ``underlying``.
    """
    return _sector_etfs().copy()


def wiki_article(name: str) -> str:
    """The Wikipedia title for a company name: spaces become underscores ("Apple_Inc.")."""
    return name.strip().replace(" ", "_")


def _real_companies() -> pd.DataFrame:
    frame = _read_csv("sample_companies.csv")
    unknown = sorted(set(frame["sector"]) - set(SECTORS))
    if unknown:
        raise ValueError(f"sample_companies.csv has unknown sectors: {unknown}")
    rank = np.arange(1, len(frame) + 1, dtype="float64")
    frame["market_cap"] = _MEGA_CAP_USD * rank**-0.8
    return frame


def _ticker_candidates(head: str, tail: str, noun: str) -> list[str]:
    word = (head + tail).upper()
    noun = "".join(ch for ch in noun.upper() if ch.isalpha())
    return [word[:2] + noun[:1], word[:3] + noun[:1], word[:1] + noun[:3], word[:4], word[:3]]


def _new_name_stem(
    rng: np.random.Generator, sector: str, used: set[str]
) -> tuple[str, str, str, str]:
    """(head, tail, noun, stem) of a name not in ``used``, e.g. "Northfield Global Dynamics"."""
    nouns = _SECTOR_NOUNS[sector]
    for _ in range(_NAME_ATTEMPTS):
        head = _NAME_HEADS[rng.integers(len(_NAME_HEADS))]
        tail = _NAME_TAILS[rng.integers(len(_NAME_TAILS))]
        noun = nouns[rng.integers(len(nouns))]
        qualifier = _NAME_QUALIFIERS[rng.integers(len(_NAME_QUALIFIERS))]
        stem = " ".join(part for part in (f"{head}{tail}", qualifier, noun) if part)
        if stem not in used:
            return head, tail, noun, stem
    return head, tail, noun, f"{stem} {len(used)}"  # pool exhausted: still unique


def _synthetic_companies(count: int, rng: np.random.Generator, taken: set[str]) -> pd.DataFrame:
    """``count`` made-up companies; ``taken`` (upper-case tickers) is extended in place."""
    sectors = np.array(list(_SECTOR_WEIGHTS))
    weights = np.array(list(_SECTOR_WEIGHTS.values()))
    rows: list[tuple[str, str, str]] = []
    names: set[str] = set()
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    for sector in rng.choice(sectors, size=count, p=weights / weights.sum()):
        head, tail, noun, stem = _new_name_stem(rng, str(sector), names)
        names.add(stem)
        name = f"{stem} {_NAME_SUFFIXES[rng.integers(len(_NAME_SUFFIXES))]}"
        ticker = next((t for t in _ticker_candidates(head, tail, noun) if t not in taken), None)
        while ticker is None or ticker in taken:
            ticker = "".join(rng.choice(letters, size=int(rng.integers(3, 5))))
        taken.add(ticker)
        rows.append((ticker, name, str(sector)))
    frame = pd.DataFrame(rows, columns=["ticker", "name", "sector"])
    low, high = _SYNTHETIC_CAP_BOUNDS_USD
    caps = rng.lognormal(np.log(_SYNTHETIC_MEDIAN_CAP_USD), _SYNTHETIC_CAP_SIGMA, size=count)
    frame["market_cap"] = np.clip(caps, low, high)
    return frame


@cache
def _sample_universe(size: int, seed: int) -> pd.DataFrame:
    if size < 1:
        raise ValueError("size must be at least 1")
    real = _real_companies().iloc[:size]
    taken = set(real["ticker"]) | set(_sector_etfs()["ticker"]) | TICKER_STOPWORDS
    rng = np.random.default_rng(seed)
    synthetic = _synthetic_companies(size - len(real), rng, taken)
    frame = pd.concat([real, synthetic], ignore_index=True)
    frame["market_cap"] = frame["market_cap"].astype("float64")
    frame["wiki_article"] = frame["name"].map(wiki_article)
    return frame[["ticker", "name", "sector", "market_cap", "wiki_article"]]


def sample_universe(size: int = 1500, seed: int = 7) -> pd.DataFrame:
    """The sample-mode stock universe, exactly ``size`` rows, deterministic in (size, seed).

    Columns: ``ticker`` (str), ``name`` (str), ``sector`` (one of :data:`SECTORS`),
    ``market_cap`` (USD, float64), ``wiki_article`` (Wikipedia title with underscores).
    Real companies come first with market caps falling with their rank in the data file
    (mega caps in the trillions); synthetic ones follow with lognormal caps (median $6bn,
    clipped to $0.2bn-$70bn) and 3-4 letter tickers. Cached; a copy is returned.
    """
    return _sample_universe(int(size), int(seed)).copy()
