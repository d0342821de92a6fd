"""Point-in-time stamping of alternative data: on which session did a row become known?"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from pas_pipeline.calendar import exchange_calendar, previous_trading_day


def known_window(first_session: dt.date, last_session: dt.date) -> tuple[dt.date, dt.date]:
    """Calendar days whose news belongs to sessions ``first_session..last_session``: from the
    day after the session before ``first_session`` to ``last_session`` (so a weekend's filings
    belong to Monday)."""
    return previous_trading_day(first_session) + dt.timedelta(days=1), last_session


def stamp_sessions(frame: pd.DataFrame, first: dt.date, last: dt.date) -> pd.DataFrame:
    """Add ``date``: the first session on or after each row's ``known_date``; keep rows whose
    session lies in ``[first, last]`` (the partitions being written)."""
    calendar = exchange_calendar()
    known = pd.DatetimeIndex(frame["known_date"])
    sessions = pd.DatetimeIndex(
        [calendar.date_to_session(day, direction="next") for day in known.unique()]
    )
    session_of = dict(zip(known.unique(), sessions, strict=True))
    stamped = frame.assign(
        date=pd.to_datetime([session_of[day] for day in known]).astype("datetime64[ns]")
    )
    keep = (stamped["date"] >= pd.Timestamp(first)) & (stamped["date"] <= pd.Timestamp(last))
    return stamped[keep].reset_index(drop=True)
