"""The Google Trends + News Sentiment signal on hand-worked data, and on the sample sources."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest

from pas_pipeline.calendar import RebalanceRule
from pas_pipeline.config import DataMode
from pas_pipeline.sources.alpaca_news import fetch_news_sentiment, make_alpaca_news_client
from pas_pipeline.sources.google_trends import (
    fetch_search_interest,
    make_google_trends_client,
    search_term,
)
from pas_pipeline.sources.sample import yahoo as sample_yahoo
from pas_pipeline.sources.sample.alpaca_news import buzz_tickers
from pas_pipeline.sources.universe import sample_universe
from pas_pipeline.strategies.registry import StrategySpec
from pas_pipeline.strategies.trends_news import (
    newest_vintage,
    news_scores,
    rising_interest,
    trends_candidates,
    trends_news,
)

AS_OF = pd.Timestamp("2025-06-02")  # the first trading day of June 2025


def spec(top_n: int = 30, **params: Any) -> StrategySpec:
    return StrategySpec(
        name="trends_news",
        title="Google Trends + News Sentiment",
        sources=("news_sentiment", "search_interest"),
        rule=RebalanceRule.MONTHLY_FIRST_TRADING_DAY,
        top_n=top_n,
        lookback_sessions=70,
        signal=trends_news,
        weighting="equal weight, top 30 by rising search interest among positive-news names",
        params=params,
    )


def interest(ticker: str, baseline: float, recent: float) -> pd.DataFrame:
    """90 known days up to ``AS_OF``: 60 baseline days at ``baseline``, then 30 at ``recent``."""
    known = pd.date_range(AS_OF - pd.Timedelta(days=89), AS_OF, freq="D")
    values = [baseline] * 60 + [recent] * 30
    return pd.DataFrame(
        {
            "event_date": known - pd.Timedelta(days=3),
            "known_date": known,
            "ticker": ticker,
            "term": ticker.title(),
            "interest": pd.Series(values, dtype="float64"),
        }
    )


def news(rows: list[tuple[str, int, int, float]]) -> pd.DataFrame:
    """Rows (ticker, days before ``AS_OF`` it became known, articles, mean sentiment)."""
    known = [AS_OF - pd.Timedelta(days=ago) for _, ago, _, _ in rows]
    return pd.DataFrame(
        {
            "event_date": [k - pd.Timedelta(days=1) for k in known],
            "known_date": known,
            "ticker": [r[0] for r in rows],
            "articles": pd.Series([r[2] for r in rows], dtype="int64"),
            "sentiment": pd.Series([r[3] for r in rows], dtype="float64"),
        }
    )


def hand_worked() -> dict[str, pd.DataFrame]:
    search = pd.concat(
        [
            interest("AAA", 40, 60),  # rising 60 / 40 - 1 = 0.5
            interest("BBB", 50, 100),  # 1.0
            interest("CCC", 20, 30),  # 0.5, but only 2 articles
            interest("DDD", 10, 30),  # 2.0, but negative news
            interest("EEE", 50, 40),  # -0.2: falling interest
            interest("FFF", 30, 45),  # 0.5, news negative once weighted by articles
            interest("GGG", 20, 30),  # 0.5, ties with AAA: AAA first
            interest("HHH", 10, 40),  # 3.0, outside the universe
        ],
        ignore_index=True,
    )
    sentiment = news(
        [
            ("AAA", 1, 2, 0.5),
            ("AAA", 10, 2, 0.0),  # 4 articles, mean 0.25
            ("BBB", 5, 3, 0.1),
            ("CCC", 5, 2, 0.9),
            ("DDD", 5, 5, -0.2),
            ("EEE", 5, 5, 0.6),
            ("FFF", 2, 1, 1.0),
            ("FFF", 3, 3, -0.5),  # daily means average 0.25; per article (1 - 1.5) / 4 < 0
            ("GGG", 29, 3, 0.3),  # known 29 days ago: inside the 30-day window
            ("GGG", 30, 9, -1.0),  # known 30 days ago: outside it
            ("HHH", 5, 4, 0.5),
        ]
    )
    universe = pd.DataFrame({"ticker": ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF", "GGG"]})
    return {"news_sentiment": sentiment, "search_interest": search, "universe": universe}


def test_the_hand_worked_scores() -> None:
    data = hand_worked()
    scores = news_scores(data["news_sentiment"], AS_OF)
    assert scores["articles"].to_dict() == {
        "AAA": 4, "BBB": 3, "DDD": 5, "EEE": 5, "FFF": 4, "GGG": 3, "HHH": 4
    }  # fmt: skip
    assert scores["sentiment"].to_dict() == pytest.approx(
        {"AAA": 0.25, "BBB": 0.1, "DDD": -0.2, "EEE": 0.6, "FFF": -0.125, "GGG": 0.3, "HHH": 0.5}
    )
    rising = rising_interest(data["search_interest"], AS_OF)
    assert rising.to_dict() == pytest.approx(
        {"AAA": 0.5, "BBB": 1.0, "CCC": 0.5, "DDD": 2.0, "EEE": -0.2, "FFF": 0.5, "GGG": 0.5,
         "HHH": 3.0}
    )  # fmt: skip


def test_the_sleeve_holds_rising_interest_with_positive_news_in_the_universe() -> None:
    sleeve = trends_news(hand_worked(), AS_OF, spec())
    assert list(sleeve.holdings["ticker"]) == ["BBB", "AAA", "GGG"]
    assert list(sleeve.holdings["score"]) == pytest.approx([1.0, 0.5, 0.5])
    assert list(sleeve.holdings["weight"]) == pytest.approx([1 / 30] * 3)
    assert sleeve.cash_weight == pytest.approx(27 / 30)
    assert sleeve.note.startswith("only 3 of 30 tickers")
    assert sleeve.rebalance_date == AS_OF


def test_without_a_universe_every_ticker_is_a_candidate() -> None:
    data = {k: v for k, v in hand_worked().items() if k != "universe"}
    sleeve = trends_news(data, AS_OF, spec(2))
    assert list(sleeve.holdings["ticker"]) == ["HHH", "BBB"]
    assert list(sleeve.holdings["weight"]) == pytest.approx([0.5, 0.5]) and sleeve.note == ""


def test_params_override_the_article_minimum() -> None:
    sleeve = trends_news(hand_worked(), AS_OF, spec(min_articles=2))
    assert list(sleeve.holdings["ticker"]) == ["BBB", "AAA", "CCC", "GGG"]


def test_rows_known_after_as_of_change_nothing() -> None:
    data = hand_worked()
    later = AS_OF + pd.Timedelta(days=1)
    late_search = interest("EEE", 0, 0).iloc[:1].assign(known_date=later, interest=100.0)
    late_news = news([("DDD", 0, 50, 1.0), ("BBB", 0, 50, -1.0)]).assign(known_date=later)
    leaky = {
        **data,
        "search_interest": pd.concat([data["search_interest"], late_search], ignore_index=True),
        "news_sentiment": pd.concat([data["news_sentiment"], late_news], ignore_index=True),
    }
    before, after = trends_news(data, AS_OF, spec()), trends_news(leaky, AS_OF, spec())
    pd.testing.assert_frame_equal(before.holdings, after.holdings)
    assert before.note == after.note


def test_thin_interest_history_is_left_out() -> None:
    search = interest("AAA", 40, 60)
    thin = search[search["known_date"] > AS_OF - pd.Timedelta(days=49)]  # 19 baseline days
    assert rising_interest(search, AS_OF).to_dict() == pytest.approx({"AAA": 0.5})
    assert rising_interest(thin, AS_OF).empty


@pytest.mark.parametrize(
    ("drop", "note"),
    [("news_sentiment", "no news sentiment known"), ("search_interest", "no Google search")],
)
def test_missing_data_is_an_all_cash_sleeve_with_a_note(drop: str, note: str) -> None:
    data = {k: v for k, v in hand_worked().items() if k != drop}
    sleeve = trends_news(data, AS_OF, spec())
    assert sleeve.holdings.empty and sleeve.cash_weight == 1.0
    assert sleeve.note.startswith(note) and "2025-06-02" in sleeve.note


def test_no_qualifying_ticker_is_cash_with_the_counts() -> None:
    data = hand_worked()
    gloomy = data["news_sentiment"].assign(sentiment=-0.5)
    sleeve = trends_news({**data, "news_sentiment": gloomy}, AS_OF, spec())
    assert sleeve.holdings.empty
    assert "0 with positive news" in sleeve.note and "8 with enough search-interest" in sleeve.note


def test_trends_candidates_are_positive_news_names_best_first() -> None:
    sentiment = hand_worked()["news_sentiment"]
    assert trends_candidates(sentiment, AS_OF) == ["EEE", "HHH", "GGG", "AAA", "BBB"]
    assert trends_candidates(sentiment, AS_OF, limit=2) == ["EEE", "HHH"]


def test_the_sample_sources_give_the_buzz_tickers_to_the_strategy() -> None:
    before = sample_yahoo.sample_config()
    as_of = dt.date(2025, 7, 1)
    sample_yahoo.configure_sample_market(40, 7, as_of=as_of)
    try:
        universe = sample_universe(40, 7)
        with make_alpaca_news_client(DataMode.SAMPLE) as client:
            sentiment = fetch_news_sentiment(
                client, universe["ticker"], as_of - dt.timedelta(days=30), as_of
            )
        candidates = trends_candidates(sentiment, pd.Timestamp(as_of))
        names = dict(zip(universe["ticker"], universe["name"], strict=True))
        terms = {ticker: search_term(names[ticker]) for ticker in candidates}
        with make_google_trends_client(DataMode.SAMPLE) as client:
            search = fetch_search_interest(client, terms, as_of - dt.timedelta(days=90), as_of)
        sleeve = trends_news(
            {"news_sentiment": sentiment, "search_interest": search, "universe": universe},
            pd.Timestamp(as_of),
            spec(),
        )
        buzz = set(buzz_tickers())
        assert buzz and buzz <= set(candidates)
        assert set(sleeve.holdings["ticker"].head(len(buzz))) == buzz
    finally:
        sample_yahoo.configure_sample_market(before.size, before.seed, before.as_of)


def test_only_the_newest_vintage_of_search_interest_is_used() -> None:
    old = pd.DataFrame(
        {"date": pd.Timestamp("2024-06-03"), "ticker": ["AAA", "BBB"], "interest": [1.0, 2.0]}
    )
    new = pd.DataFrame({"date": pd.Timestamp("2024-07-01"), "ticker": ["AAA"], "interest": [50.0]})
    future = new.assign(date=pd.Timestamp("2024-08-01"))
    stacked = pd.concat([old, new, future], ignore_index=True)
    chosen = newest_vintage(stacked, pd.Timestamp("2024-07-15"))
    assert chosen[["ticker", "interest"]].values.tolist() == [["AAA", 50.0]]
    assert newest_vintage(stacked, pd.Timestamp("2024-05-01")).empty
