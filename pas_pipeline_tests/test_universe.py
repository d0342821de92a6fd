"""Sector ETFs and the sample-mode stock universe."""

from __future__ import annotations

import re

import pandas as pd

from pas_pipeline.sources.universe import (
    SECTORS,
    TICKER_STOPWORDS,
    sample_universe,
    sector_etfs,
    wiki_article,
)

REAL_COMPANIES = 125  # rows of data/sample_companies.csv


def test_sector_etfs_lists_eleven_spdr_funds_one_per_sector() -> None:
    etfs = sector_etfs()
    spdr = etfs[etfs["leverage"] == 1]
    assert sorted(spdr["ticker"]) == [
        "XLB",
        "XLC",
        "XLE",
        "XLF",
        "XLI",
        "XLK",
        "XLP",
        "XLRE",
        "XLU",
        "XLV",
        "XLY",
    ]
    assert sorted(spdr["sector"]) == sorted(SECTORS)
    assert (spdr["underlying"] == spdr["ticker"]).all()
    assert spdr.set_index("ticker").loc["XLK", "sector"] == "Information Technology"


def test_each_leveraged_etf_is_2x_the_spdr_fund_of_its_sector() -> None:
    etfs = sector_etfs()
    spdr_of = etfs[etfs["leverage"] == 1].set_index("sector")["ticker"]
    levered = etfs[etfs["leverage"] != 1]
    assert sorted(levered["ticker"]) == [
        "DIG",
        "LTL",
        "ROM",
        "RXL",
        "UCC",
        "UGE",
        "UPW",
        "URE",
        "UXI",
        "UYG",
        "UYM",
    ]
    assert (levered["leverage"] == 2.0).all()
    assert (levered["underlying"] == levered["sector"].map(spdr_of)).all()
    assert levered.set_index("ticker").loc["ROM", "underlying"] == "XLK"


def test_universe_has_exactly_the_requested_rows_and_columns() -> None:
    for size in (1, 50, 1500, 2000):
        universe = sample_universe(size)
        assert len(universe) == size
        assert list(universe.columns) == ["ticker", "name", "sector", "market_cap", "wiki_article"]
    assert sample_universe()["market_cap"].dtype == "float64"


def test_real_companies_come_first_with_wikipedia_titles() -> None:
    universe = sample_universe()
    apple = universe.iloc[1]
    assert (apple["ticker"], apple["name"], apple["wiki_article"]) == (
        "AAPL",
        "Apple Inc.",
        "Apple_Inc.",
    )
    assert apple["sector"] == "Information Technology"
    assert universe.iloc[0]["ticker"] == "NVDA"
    assert wiki_article("The Walt Disney Company") == "The_Walt_Disney_Company"


def test_a_small_universe_is_the_largest_real_companies() -> None:
    assert sample_universe(3)["ticker"].tolist() == ["NVDA", "AAPL", "MSFT"]


def test_universe_is_deterministic_for_a_size_and_seed() -> None:
    pd.testing.assert_frame_equal(sample_universe(400, 11), sample_universe(400, 11))
    other = sample_universe(400, 12)
    assert other.iloc[:REAL_COMPANIES].equals(sample_universe(400, 11).iloc[:REAL_COMPANIES])
    assert not other["ticker"].equals(sample_universe(400, 11)["ticker"])


def test_callers_get_a_copy_they_may_modify() -> None:
    mine = sample_universe(10)
    mine.loc[0, "ticker"] = "CHANGED"
    assert sample_universe(10).loc[0, "ticker"] == "NVDA"


def test_synthetic_tickers_are_3_to_4_letters_and_never_collide() -> None:
    universe = sample_universe(3000)
    assert universe["ticker"].is_unique
    synthetic = universe["ticker"].iloc[REAL_COMPANIES:]
    assert synthetic.map(lambda t: re.fullmatch(r"[A-Z]{3,4}", t) is not None).all()
    forbidden = set(universe["ticker"].iloc[:REAL_COMPANIES]) | set(sector_etfs()["ticker"])
    assert not set(synthetic) & (forbidden | TICKER_STOPWORDS)
    for word in ("A", "I", "IT", "ALL", "DD", "CEO", "YOLO", "ON", "GO", "BE", "ARE", "FOR"):
        assert word in TICKER_STOPWORDS


def test_synthetic_names_are_unique_and_look_like_companies() -> None:
    names = sample_universe(1500)["name"].iloc[REAL_COMPANIES:]
    assert names.is_unique
    pattern = r"[A-Z][a-z]+ [A-Za-z ]+ (Inc\.|Corp\.|Holdings Inc\.|Group Inc\.|Corporation)"
    assert names.map(lambda n: re.fullmatch(pattern, n) is not None).all()


def test_every_sector_is_represented_and_none_dominates() -> None:
    shares = sample_universe(1500)["sector"].value_counts(normalize=True)
    assert set(shares.index) == set(SECTORS)
    assert shares.max() < 0.2
    assert shares.min() > 0.02


def test_market_caps_are_lognormal_with_real_mega_caps_on_top() -> None:
    universe = sample_universe(1500)
    caps = universe["market_cap"]
    real, synthetic = caps.iloc[:REAL_COMPANIES], caps.iloc[REAL_COMPANIES:]
    assert caps.iloc[0] > 1e12
    assert real.is_monotonic_decreasing
    assert synthetic.min() >= 2e8
    assert synthetic.max() <= 7e10
    assert 3e9 < synthetic.median() < 1.2e10
    assert real.iloc[:10].min() > synthetic.max()
