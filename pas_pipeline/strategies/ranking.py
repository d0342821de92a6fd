"""Shared helpers of the ranking strategies: look-back windows and top-N sleeves.

:func:`top_n_sleeve` turns a score per ticker into a :class:`Sleeve` with the slot convention
of every strategy (the same as the sector rotation): each of the ``top_n`` slots owns
``1/top_n`` of the sleeve, and slots no name qualifies for stay in cash.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pas_pipeline.strategies.sleeve import Sleeve

WEIGHTINGS = ("equal", "score")

DEFAULT_NOTE_WHEN_EMPTY = "no ticker qualifies"
DEFAULT_NOTE_WHEN_SHORT = "only {k} of {top_n} slots filled; the rest is cash"


def window(
    frame: pd.DataFrame, as_of: pd.Timestamp, days: int, column: str = "known_date"
) -> pd.DataFrame:
    """Rows of ``frame`` whose ``column`` lies in ``(as_of - days, as_of]`` (calendar days).

    With ``days = 30`` and ``as_of = 2024-06-30`` that is 2024-06-01 through 2024-06-30.
    """
    end = pd.Timestamp(as_of)
    start = end - pd.Timedelta(days=days)
    values = frame[column]
    return frame[(values > start) & (values <= end)]


def between(
    frame: pd.DataFrame, first: pd.Timestamp, last: pd.Timestamp, column: str = "known_date"
) -> pd.DataFrame:
    """Rows of ``frame`` whose ``column`` lies in ``[first, last]`` (both ends inclusive)."""
    values = frame[column]
    return frame[(values >= pd.Timestamp(first)) & (values <= pd.Timestamp(last))]


def rank_scores(scores: pd.Series) -> pd.Series:
    """``scores`` (indexed by ticker) without NaN, highest first, ties by ticker ascending."""
    clean = scores[scores.notna()].astype(float)
    if clean.empty:
        return pd.Series(dtype=float)
    frame = pd.DataFrame({"ticker": clean.index.astype(str), "score": clean.to_numpy()})
    frame = frame.sort_values(["score", "ticker"], ascending=[False, True], kind="mergesort")
    return pd.Series(frame["score"].to_numpy(), index=pd.Index(frame["ticker"], name="ticker"))


def top_n_sleeve(
    scores: pd.Series,
    as_of: pd.Timestamp,
    top_n: int,
    weighting: str = "equal",
    min_score: float | None = None,
    note_when_short: str = DEFAULT_NOTE_WHEN_SHORT,
    note_when_empty: str = DEFAULT_NOTE_WHEN_EMPTY,
) -> Sleeve:
    """The sleeve holding the ``top_n`` best scores.

    1. NaN scores are dropped. A ticker qualifies when its score is ``> 0`` (``min_score``
       None) or ``>= min_score``.
    2. Qualifying tickers are ranked by score, highest first; equal scores are ordered by
       ticker (ascending), so ``"AAA"`` beats ``"BBB"`` on a tie. The first ``top_n`` are kept;
       call their number ``k``.
    3. Weights. ``"equal"``: ``1/top_n`` each. ``"score"``: ``s_i / sum(s) * k/top_n``, so
       proportional to the score. Both sum to 1 when ``k == top_n``; otherwise each of the
       ``top_n`` slots owns ``1/top_n`` and the ``top_n - k`` empty slots are cash.
    4. ``note_when_short`` (formatted with ``k`` and ``top_n``) is the note when
       ``0 < k < top_n``; ``note_when_empty`` when ``k == 0`` (an all-cash sleeve).

    ``"score"`` weighting needs positive scores, so ``min_score`` must then be None or > 0.
    """
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}")
    if top_n < 1:
        raise ValueError(f"top_n must be >= 1, got {top_n}")
    if weighting == "score" and min_score is not None and min_score <= 0:
        raise ValueError("score weighting needs min_score > 0 (or None, meaning > 0)")
    as_of = pd.Timestamp(as_of)
    ranked = rank_scores(scores)
    qualifies = ranked > 0 if min_score is None else ranked >= min_score
    chosen = ranked[qualifies].head(top_n)
    k = len(chosen)
    if k == 0:
        return Sleeve.empty(as_of, note_when_empty)
    values = chosen.to_numpy(dtype=float)
    if weighting == "equal":
        weights = np.full(k, 1.0 / top_n)
    else:
        weights = values / values.sum() * (k / top_n)
    holdings = pd.DataFrame(
        {
            "ticker": pd.Series(chosen.index.to_numpy(), dtype=object),
            "score": values,
            "weight": weights,
        }
    )
    note = "" if k == top_n else note_when_short.format(k=k, top_n=top_n)
    return Sleeve(as_of, holdings, note)
