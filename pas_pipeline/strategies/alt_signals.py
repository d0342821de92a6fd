"""Signals of the alternative-data strategies (Quiver datasets), one function per strategy.

Every function has the signal signature ``fn(data, as_of, spec) -> Sleeve``. ``data`` maps
asset names to tidy frames already cut to the rows known on ``as_of``
(``strategies/run.py: known_on``); windows below are on ``known_date`` (when a row became
public), never on ``event_date``. Parameters come from ``spec.params`` with the defaults
given; ``spec.top_n`` is the number of slots. Money is USD.

Shared conventions (:func:`pas_pipeline.strategies.ranking.top_n_sleeve`):

- Scores are ranked highest first; equal scores are ordered by ticker (ascending).
- Only tickers with a score ``> 0`` (or ``>= min_score`` where stated) are held.
- Each of the ``top_n`` slots owns ``1/top_n`` of the sleeve. Equal weighting gives every
  held name ``1/top_n``; score weighting gives ``score_i / sum(score) * k/top_n`` for ``k``
  held names. Unfilled slots stay in cash and the sleeve's note says why.
- Missing, empty or thin data gives an all-cash sleeve with a note, never an exception.
- When ``data`` also holds ``"universe"`` (the spec lists it among its sources), only
  tickers of the universe are candidates, since only they have prices downstream.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING

import pandas as pd

from pas_pipeline.strategies.ranking import between, top_n_sleeve, window
from pas_pipeline.strategies.sleeve import Sleeve

if TYPE_CHECKING:
    from pas_pipeline.strategies.registry import StrategySpec

CONGRESS_WINDOW_DAYS = 30
POLITICIAN_WINDOW_DAYS = 365
DC_INSIDER_WINDOW_DAYS = 365
GOV_CONTRACTS_MIN_AMOUNT = 50_000_000.0
INSIDER_WINDOW_DAYS = 30
INSIDER_TRANSACTION_CODE = "P"
LOBBYING_MIN_BASE = 0.0
APP_MIN_GAP_DAYS = 7
APP_MAX_GAP_DAYS = 14
APP_MAX_AGE_DAYS = 7

_SIDE_SIGN = {"buy": 1.0, "sell": -1.0}


# --- helpers -----------------------------------------------------------------------------


def _day(as_of: pd.Timestamp) -> str:
    return pd.Timestamp(as_of).date().isoformat()


def _source(data: Mapping[str, pd.DataFrame], name: str) -> pd.DataFrame | None:
    """The frame of source ``name``, or None when it is absent or has no rows."""
    frame = data.get(name)
    if frame is None or len(frame) == 0:
        return None
    return frame


def _restrict_to_universe(
    scores: pd.Series, data: Mapping[str, pd.DataFrame]
) -> tuple[pd.Series, int]:
    """``scores`` of universe tickers only (when ``data`` has a universe), and how many
    positive scores were dropped for being outside it."""
    universe = data.get("universe")
    if universe is None or "ticker" not in universe.columns:
        return scores, 0
    inside = scores.index.isin(set(universe["ticker"]))
    outside = int(((scores > 0) & ~inside).sum())
    return scores[inside], outside


def ranked_sleeve(
    scores: pd.Series,
    data: Mapping[str, pd.DataFrame],
    as_of: pd.Timestamp,
    spec: StrategySpec,
    *,
    weighting: str,
    short: str,
    empty: str,
    min_score: float | None = None,
) -> Sleeve:
    """:func:`top_n_sleeve` on universe tickers; ``short`` may use ``{k}`` and ``{top_n}``."""
    scores, outside = _restrict_to_universe(scores, data)
    sleeve = top_n_sleeve(
        scores,
        as_of,
        spec.top_n,
        weighting=weighting,
        min_score=min_score,
        note_when_short=short,
        note_when_empty=empty,
    )
    if outside and sleeve.note:
        extra = f" ({outside} scored tickers outside the universe were skipped)"
        sleeve = dataclasses.replace(sleeve, note=sleeve.note + extra)
    return sleeve


def _net_amount(trades: pd.DataFrame) -> pd.Series:
    """Σ ``amount_mid`` of buys − Σ ``amount_mid`` of sells per ticker ("other" ignored)."""
    sign = trades["side"].map(_SIDE_SIGN)
    signed = (sign * trades["amount_mid"]).dropna()
    return signed.groupby(trades.loc[signed.index, "ticker"]).sum()


def percentile_rank(values: pd.Series) -> pd.Series:
    """Percentile rank in (0, 1] among the tickers with a value ``> 0`` (average rank of ties
    divided by their number); tickers with a value ``<= 0`` are left out (rank 0)."""
    present = values[values > 0]
    return present.rank(method="average", pct=True)


# --- 1. Congressional-Trading Aggregate --------------------------------------------------


def congressional_aggregate(
    data: Mapping[str, pd.DataFrame], as_of: pd.Timestamp, spec: StrategySpec
) -> Sleeve:
    """Top names by net congressional dollar buying over the last month.

    Rule on ``as_of``:

    1. Trades of ``congress_trades`` with ``known_date`` (the filing date) in
       ``(as_of - window_days, as_of]``; ``window_days`` defaults to 30 calendar days.
    2. The dollar size of a trade is ``amount_mid``: the midpoint of the disclosed range
       (``(amount_low + amount_high) / 2``; the lower bound for an open "Over $X" range).
       Trades without an amount are skipped.
    3. Score per ticker = Σ size of buys (``side == "buy"``) − Σ size of sells
       (``side == "sell"``); exchanges and other transactions are ignored.
    4. Hold the ``top_n`` (20) highest positive scores, equal weight ``1/top_n``.
    """
    as_of = pd.Timestamp(as_of)
    days = int(spec.params.get("window_days", CONGRESS_WINDOW_DAYS))
    trades = _source(data, "congress_trades")
    recent = None if trades is None else window(trades, as_of, days)
    if recent is None or recent.empty:
        return Sleeve.empty(
            as_of, f"no congressional trades disclosed in the {days} days to {_day(as_of)}"
        )
    return ranked_sleeve(
        _net_amount(recent),
        data,
        as_of,
        spec,
        weighting="equal",
        short="only {k} of {top_n} tickers have net congressional buying; the rest is cash",
        empty=f"no ticker has net congressional buying in the {days} days to {_day(as_of)}",
    )


# --- 2. "Follow-the-Leader" Politician Sleeves -------------------------------------------


def politician_sleeve(
    data: Mapping[str, pd.DataFrame], as_of: pd.Timestamp, spec: StrategySpec
) -> Sleeve:
    """Replicate the disclosed trades of one politician.

    Rule on ``as_of``:

    1. The trades of ``congress_trades`` whose ``bioguide_id`` equals
       ``spec.params["bioguide_id"]`` (required, e.g. ``"P000197"``) with ``known_date`` in
       ``(as_of - window_days, as_of]``; ``window_days`` defaults to 365.
    2. Position score per ticker = net ``amount_mid`` (the midpoint of the disclosed dollar
       range): Σ over buys − Σ over sells.
    3. Hold the positive nets, at most ``top_n`` (highest first), weight proportional to the
       net amount: ``net_i / Σ net * k/top_n`` for ``k`` held names (unfilled slots are cash).
    """
    as_of = pd.Timestamp(as_of)
    bioguide_id = spec.params.get("bioguide_id")
    if not bioguide_id:
        raise ValueError(f"strategy {spec.name!r} needs params['bioguide_id']")
    days = int(spec.params.get("window_days", POLITICIAN_WINDOW_DAYS))
    trades = _source(data, "congress_trades")
    mine = (
        None
        if trades is None
        else window(trades[trades["bioguide_id"] == bioguide_id], as_of, days)
    )
    if mine is None or mine.empty:
        return Sleeve.empty(
            as_of,
            f"politician {bioguide_id} disclosed no trades in the {days} days to {_day(as_of)}",
        )
    return ranked_sleeve(
        _net_amount(mine),
        data,
        as_of,
        spec,
        weighting="score",
        short=f"politician {bioguide_id} is net long only {{k}} tickers of {{top_n}} slots; "
        "the rest is cash",
        empty=f"politician {bioguide_id} has no net purchases in the {days} days to {_day(as_of)}",
    )


# --- 3. DC Insider Score Tilt ------------------------------------------------------------


DC_INSIDER_COLUMNS = [
    "ticker",
    "congress_rank",
    "lobbying_rank",
    "contracts_rank",
    "score",
    "missing_sources",
]
_DC_METRICS = (
    ("congress_trades", None, "congress_rank"),
    ("lobbying", "amount", "lobbying_rank"),
    ("gov_contracts", "amount", "contracts_rank"),
)


def dc_insider_scores(
    data: Mapping[str, pd.DataFrame],
    as_of: pd.Timestamp,
    window_days: int = DC_INSIDER_WINDOW_DAYS,
) -> pd.DataFrame:
    """The DC insider score of every ticker on ``as_of`` (Quiver's definition, rebuilt from
    its ingredients), from rows known in ``(as_of - window_days, as_of]``:

    1. Three metrics per ticker: the number of congressional trades disclosed
       (``congress_trades`` rows, any side), the total lobbying spend (Σ ``lobbying.amount``)
       and the total government contract awards (Σ ``gov_contracts.amount``).
    2. Each metric becomes a percentile rank among the tickers where it is ``> 0``:
       ``rank / n`` with ranks 1..n ascending (ties get their average rank), so the largest
       value ranks 1. A ticker absent from a source, or with a metric ``<= 0``, ranks 0.
    3. ``score`` = 100 × the mean of the three percentile ranks (0-100).

    Columns :data:`DC_INSIDER_COLUMNS`, one row per ticker with a positive score, best first
    (ties by ticker); ``missing_sources`` names the sources without rows in the window (","
    separated, on every row). No rows at all when no source has any.
    """
    as_of = pd.Timestamp(as_of)
    ranks: dict[str, pd.Series] = {}
    missing: list[str] = []
    for name, measure, column in _DC_METRICS:
        frame = _source(data, name)
        recent = None if frame is None else window(frame, as_of, window_days)
        if recent is None or recent.empty:
            missing.append(name)
            continue
        grouped = recent.groupby("ticker")
        metric = grouped.size().astype(float) if measure is None else grouped[measure].sum()
        ranks[column] = percentile_rank(metric)
    tickers = sorted(set().union(*(rank.index for rank in ranks.values())))
    frame = pd.DataFrame({"ticker": pd.Series(tickers, dtype=object)})
    for _, _, column in _DC_METRICS:
        rank = ranks.get(column, pd.Series(dtype=float))
        frame[column] = rank.reindex(tickers, fill_value=0.0).to_numpy(dtype=float)
    frame["score"] = 100.0 * frame[[c for _, _, c in _DC_METRICS]].sum(axis=1) / 3.0
    frame["missing_sources"] = ",".join(missing)
    frame = frame.sort_values(["score", "ticker"], ascending=[False, True], kind="mergesort")
    return frame[DC_INSIDER_COLUMNS].reset_index(drop=True)


def dc_insider_score(
    data: Mapping[str, pd.DataFrame], as_of: pd.Timestamp, spec: StrategySpec
) -> Sleeve:
    """Long the ``top_n`` (30) highest DC insider scores, equal weight ``1/top_n``.

    Reads ``data["dc_insider_scores"]`` (the derived asset, :func:`dc_insider_scores` stored
    per day with a ``date`` column): the newest day on or before ``as_of``. A source that had
    no rows in the score's window is named in the note.
    """
    as_of = pd.Timestamp(as_of)
    scores = _source(data, "dc_insider_scores")
    if scores is not None and "date" in scores.columns:
        days = scores["date"][scores["date"] <= as_of]
        scores = scores[scores["date"] == days.max()] if len(days) else None
    if scores is None or scores.empty:
        return Sleeve.empty(
            as_of, f"no congressional trades, lobbying or contracts known to {_day(as_of)}"
        )
    sleeve = ranked_sleeve(
        pd.Series(scores["score"].to_numpy(), index=scores["ticker"].to_numpy()),
        data,
        as_of,
        spec,
        weighting="equal",
        short="only {k} of {top_n} tickers have a positive DC insider score; the rest is cash",
        empty=f"no ticker has a positive DC insider score on {_day(as_of)}",
    )
    missing = str(scores["missing_sources"].iloc[0])
    if missing:
        gap = f"no {missing.replace(',', ', ')} rows in the score's window to {_day(as_of)}"
        note = f"{sleeve.note}; {gap}" if sleeve.note else gap
        sleeve = dataclasses.replace(sleeve, note=note)
    return sleeve


# --- 4. Government-Contracts Momentum ----------------------------------------------------


def _previous_month(as_of: pd.Timestamp) -> pd.Period:
    return pd.Timestamp(as_of).to_period("M") - 1


def gov_contracts_momentum(
    data: Mapping[str, pd.DataFrame], as_of: pd.Timestamp, spec: StrategySpec
) -> Sleeve:
    """Own the firms with large new federal contracts announced last month.

    Rule on ``as_of``:

    1. Awards of ``gov_contracts`` with ``known_date`` (the announcement) in the calendar
       month before ``as_of``'s month (``as_of = 2024-07-01`` reads 2024-06-01..2024-06-30).
    2. Score per ticker = Σ ``amount`` (USD; de-obligations are negative and net out).
    3. Hold every ticker with a score ``>= min_amount`` (default 50,000,000), highest first,
       at most ``top_n`` (20), weight proportional to the amount:
       ``amount_i / Σ amount * k/top_n`` for ``k`` held names (unfilled slots are cash).
    """
    as_of = pd.Timestamp(as_of)
    min_amount = float(spec.params.get("min_amount", GOV_CONTRACTS_MIN_AMOUNT))
    month = _previous_month(as_of)
    contracts = _source(data, "gov_contracts")
    awarded = (
        None
        if contracts is None
        else between(contracts, month.start_time, month.end_time.normalize())
    )
    if awarded is None or awarded.empty:
        return Sleeve.empty(as_of, f"no government contracts announced in {month}")
    return ranked_sleeve(
        awarded.groupby("ticker")["amount"].sum(),
        data,
        as_of,
        spec,
        weighting="score",
        min_score=min_amount,
        short=f"only {{k}} of {{top_n}} tickers won >= ${min_amount:,.0f} of contracts in "
        f"{month}; the rest is cash",
        empty=f"no ticker won >= ${min_amount:,.0f} of contracts in {month}",
    )


# --- 5. Corporate Insider Buying Pulse ---------------------------------------------------


def insider_buying_pulse(
    data: Mapping[str, pd.DataFrame], as_of: pd.Timestamp, spec: StrategySpec
) -> Sleeve:
    """Long the tickers with the strongest open-market buying by their executives.

    Rule on ``as_of``:

    1. Form 4 rows of ``insider_trades`` with ``known_date`` (the filing date) in
       ``(as_of - window_days, as_of]`` (default 30 days), ``transaction_code ==
       transaction_code`` (default ``"P"``, an open-market purchase), filed by an officer or a
       director (``is_officer or is_director``).
    2. Score per ticker = Σ ``value`` (shares × price, USD).
    3. Hold the ``top_n`` (25) highest positive scores, equal weight ``1/top_n``.
    """
    as_of = pd.Timestamp(as_of)
    days = int(spec.params.get("window_days", INSIDER_WINDOW_DAYS))
    code = str(spec.params.get("transaction_code", INSIDER_TRANSACTION_CODE))
    trades = _source(data, "insider_trades")
    recent = None if trades is None else window(trades, as_of, days)
    if recent is not None:
        executive = recent["is_officer"].eq(True) | recent["is_director"].eq(True)
        recent = recent[(recent["transaction_code"] == code) & executive]
    if recent is None or recent.empty:
        return Sleeve.empty(
            as_of,
            f"no officer or director purchases (code {code}) filed in the {days} days to "
            f"{_day(as_of)}",
        )
    return ranked_sleeve(
        recent.groupby("ticker")["value"].sum(),
        data,
        as_of,
        spec,
        weighting="equal",
        short="only {k} of {top_n} tickers have executive buying; the rest is cash",
        empty=f"no ticker has executive purchases of positive value in the {days} days to "
        f"{_day(as_of)}",
    )


# --- 6. Lobbying Growth ------------------------------------------------------------------


def _quarter_spend(lobbying: pd.DataFrame, quarter: pd.Period) -> pd.Series:
    """Σ ``amount`` per ticker of the reports known in ``quarter``."""
    rows = between(lobbying, quarter.start_time, quarter.end_time.normalize())
    return rows.groupby("ticker")["amount"].sum()


def lobbying_growth(
    data: Mapping[str, pd.DataFrame], as_of: pd.Timestamp, spec: StrategySpec
) -> Sleeve:
    """Long the tickers whose lobbying spend grew most quarter over quarter.

    Rule on ``as_of``:

    1. ``Q_t`` = Σ ``lobbying.amount`` per ticker over reports with ``known_date`` in the last
       full calendar quarter before ``as_of``'s quarter; ``Q_{t-1}`` the same for the quarter
       before (``as_of = 2024-07-01`` compares 2024Q2 with 2024Q1). A ticker without reports
       in the last quarter has ``Q_t = 0``.
    2. Only tickers with ``Q_{t-1} > min_base`` (default 0) are candidates.
    3. Score = growth ``(Q_t - Q_{t-1}) / Q_{t-1}``.
    4. Hold the ``top_n`` (20) highest positive growths, equal weight ``1/top_n``.
    """
    as_of = pd.Timestamp(as_of)
    min_base = float(spec.params.get("min_base", LOBBYING_MIN_BASE))
    last = as_of.to_period("Q") - 1
    before = last - 1
    lobbying = _source(data, "lobbying")
    if lobbying is None:
        return Sleeve.empty(as_of, f"no lobbying reports known on {_day(as_of)}")
    base = _quarter_spend(lobbying, before)
    base = base[base > min_base]
    if base.empty:
        return Sleeve.empty(as_of, f"no ticker lobbied more than ${min_base:,.0f} in {before}")
    current = _quarter_spend(lobbying, last).reindex(base.index, fill_value=0.0)
    return ranked_sleeve(
        (current - base) / base,
        data,
        as_of,
        spec,
        weighting="equal",
        short=f"only {{k}} of {{top_n}} tickers grew lobbying spend from {before} to {last}; "
        "the rest is cash",
        empty=f"no ticker grew lobbying spend from {before} to {last}",
    )


# --- 7. App Reviews Hype Score -----------------------------------------------------------


def app_hype(data: Mapping[str, pd.DataFrame], as_of: pd.Timestamp, spec: StrategySpec) -> Sleeve:
    """Long the names with the largest week-over-week jump in app-review hype.

    Rule on ``as_of``, per (ticker, app) of ``app_ratings`` (rows without a review count or a
    rating are skipped):

    1. Latest snapshot: the one with the largest ``known_date`` (the scrape day). It must be
       recent, ``known_date > as_of - max_age_days`` (default 7), else the app is skipped.
    2. Base snapshot: the latest one with ``known_date <= latest - min_gap_days`` (default 7),
       and no older than ``latest - max_gap_days`` (default 14); apps without one are skipped,
       as are apps whose base review count is not positive.
    3. ``hype = g × (1 + Δr)`` with ``g = (reviews_latest / reviews_base - 1) × 100`` (review
       count growth in percent) and ``Δr = rating_latest - rating_base`` (stars, 0-5 scale).
    4. Score per ticker = Σ hype over its apps.
    5. Hold the ``top_n`` (20) highest positive scores, equal weight ``1/top_n``.
    """
    as_of = pd.Timestamp(as_of)
    min_gap = int(spec.params.get("min_gap_days", APP_MIN_GAP_DAYS))
    max_gap = int(spec.params.get("max_gap_days", APP_MAX_GAP_DAYS))
    max_age = int(spec.params.get("max_age_days", APP_MAX_AGE_DAYS))
    ratings = _source(data, "app_ratings")
    no_pairs = (
        f"no app has snapshots {min_gap}-{max_gap} days apart, the latest within "
        f"{max_age} days of {_day(as_of)}"
    )
    if ratings is None:
        return Sleeve.empty(as_of, f"no app ratings known on {_day(as_of)}")
    snaps = (
        ratings.dropna(subset=["review_count", "rating"])
        .sort_values(["ticker", "app", "known_date"], kind="mergesort")
        .drop_duplicates(["ticker", "app", "known_date"], keep="last")
    )
    snaps = snaps[snaps["known_date"] <= as_of]
    latest = snaps.groupby(["ticker", "app"], sort=True).tail(1)
    latest = latest[latest["known_date"] > as_of - pd.Timedelta(days=max_age)]
    if latest.empty:
        return Sleeve.empty(as_of, no_pairs)
    left = latest.assign(target=latest["known_date"] - pd.Timedelta(days=min_gap))
    right = snaps[["ticker", "app", "known_date", "rating", "review_count"]].rename(
        columns={"known_date": "base_date", "rating": "base_rating", "review_count": "base_count"}
    )
    pairs = pd.merge_asof(
        left.sort_values("target", kind="mergesort"),
        right.sort_values("base_date", kind="mergesort"),
        left_on="target",
        right_on="base_date",
        by=["ticker", "app"],
        direction="backward",
    )
    oldest = pairs["known_date"] - pd.Timedelta(days=max_gap)
    pairs = pairs[
        pairs["base_date"].notna() & (pairs["base_date"] >= oldest) & (pairs["base_count"] > 0)
    ]
    if pairs.empty:
        return Sleeve.empty(as_of, no_pairs)
    growth = (pairs["review_count"] / pairs["base_count"] - 1.0) * 100.0
    hype = growth * (1.0 + (pairs["rating"] - pairs["base_rating"]))
    return ranked_sleeve(
        hype.groupby(pairs["ticker"]).sum(),
        data,
        as_of,
        spec,
        weighting="equal",
        short="only {k} of {top_n} tickers have positive app-review hype; the rest is cash",
        empty=f"no ticker has positive week-over-week app-review hype on {_day(as_of)}",
    )
