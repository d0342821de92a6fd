"""The WallStreetBets counting rule: hand-worked documents with their exact counts."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from pas_pipeline.schemas import validate_frame
from pas_pipeline.sources.errors import PayloadError
from pas_pipeline.sources.mentions import (
    MENTION_COLUMNS,
    WSB_MENTIONS_SCHEMA,
    count_mentions,
    mention_stoplist,
    parse_stoplist,
)

UNIVERSE = ["NVDA", "AMD", "IT", "ALL", "PM", "F", "GME"]


def documents(rows: list[tuple[str, str | None, int, str]]) -> pd.DataFrame:
    """(UTC creation time, author, score, text) -> a documents frame."""
    created = pd.to_datetime([r[0] for r in rows], utc=True)
    return pd.DataFrame(
        {
            "id": [f"d{i}" for i in range(len(rows))],
            "kind": "t1",
            "created_utc": created.astype("int64") / 1e9,
            "event_date": created.tz_localize(None).normalize().astype("datetime64[ns]"),
            "author": [r[1] for r in rows],
            "score": pd.Series([r[2] for r in rows], dtype="int64"),
            "text": [r[3] for r in rows],
        }
    )


def counts(rows: list[tuple[str, str | None, int, str]]) -> dict[tuple[str, str], tuple]:
    frame = count_mentions(documents(rows), UNIVERSE)
    return {
        (r.ticker, r.event_date.date().isoformat()): (r.mentions, r.authors, r.score)
        for r in frame.itertuples()
    }


def test_a_cashtag_counts_for_any_universe_ticker_in_any_case() -> None:
    found = counts(
        [
            ("2024-06-03 10:00", "ape1", 5, "Loaded $nvda and $IT calls"),
            ("2024-06-03 11:00", "ape2", 3, "$ALL in? $PM too, and $F"),
        ]
    )
    assert found == {
        ("NVDA", "2024-06-03"): (1, 1, 5),
        ("IT", "2024-06-03"): (1, 1, 5),  # a stop-list word still counts as a cashtag
        ("ALL", "2024-06-03"): (1, 1, 3),
        ("PM", "2024-06-03"): (1, 1, 3),
        ("F", "2024-06-03"): (1, 1, 3),  # single letters count as cashtags only
    }


def test_a_bare_upper_case_ticker_counts_unless_stop_listed() -> None:
    found = counts(
        [("2024-06-03 10:00", "ape1", 2, "NVDA's run. IT is ALL over, PM me, F in chat, GME.")]
    )
    assert found == {("NVDA", "2024-06-03"): (1, 1, 2), ("GME", "2024-06-03"): (1, 1, 2)}


def test_words_outside_the_universe_and_lower_case_do_not_count() -> None:
    found = counts(
        [
            ("2024-06-03 10:00", "ape1", 1, "TSLA $TSLA YOLO DD CEO tendies"),
            ("2024-06-03 11:00", "ape2", 1, "nvda amd Nvda GMEx $NVDAQX 2GME"),
        ]
    )
    assert found == {}
    empty = count_mentions(documents([("2024-06-03 10:00", "a", 1, "nothing")]), UNIVERSE)
    assert list(empty.columns) == list(MENTION_COLUMNS) and empty.empty
    assert str(empty["mentions"].dtype) == "int64"


def test_a_document_counts_once_per_ticker_and_authors_are_distinct() -> None:
    found = counts(
        [
            ("2024-06-03 09:00", "ape1", 10, "AMD AMD $AMD amd AMD!!! and NVDA"),
            ("2024-06-03 10:00", "ape1", -4, "AMD again"),
            ("2024-06-03 11:00", "ape2", 1, "AMD"),
            ("2024-06-03 12:00", None, 7, "$AMD"),  # a deleted author is not an author
        ]
    )
    assert found == {
        ("AMD", "2024-06-03"): (4, 2, 10 - 4 + 1 + 7),
        ("NVDA", "2024-06-03"): (1, 1, 10),
    }


def test_days_are_utc_days_and_known_the_next_day() -> None:
    frame = count_mentions(
        documents(
            [
                ("2024-06-03 23:59:59", "ape1", 1, "GME"),
                ("2024-06-04 00:00:00", "ape2", 1, "GME"),  # 20:00 in New York on the 3rd
                ("2024-06-04 23:00:00", "ape3", 1, "GME"),
            ]
        ),
        UNIVERSE,
    )
    assert list(frame["event_date"]) == [pd.Timestamp("2024-06-03"), pd.Timestamp("2024-06-04")]
    assert list(frame["known_date"]) == [pd.Timestamp("2024-06-04"), pd.Timestamp("2024-06-05")]
    assert list(frame["mentions"]) == [1, 2]
    validate_frame(WSB_MENTIONS_SCHEMA, frame, "reddit")


def test_the_stoplist_file_has_the_required_words_and_the_universe_stopwords() -> None:
    required = "A I IT ALL DD CEO CFO YOLO USA ATH IMO EPS IPO FOR ARE ON BE GO OR SO NOW ONE"
    required += " EV PM AM TA FD OP UK EU AI US DOW SEC FED CPI GDP ETF LOL RIP"
    assert set(required.split()) <= mention_stoplist()
    assert {"HODL", "MOON", "WSB"} <= mention_stoplist()
    assert parse_stoplist("# comment\n dd  # slang\n\nYolo\n") == frozenset({"DD", "YOLO"})


def test_the_schema_rejects_a_row_known_before_its_day() -> None:
    frame = count_mentions(
        documents([("2024-06-03 10:00", "a", 1, "GME"), ("2024-06-04 10:00", "b", 1, "AMD")]),
        UNIVERSE,
    )
    frame.loc[1, "known_date"] = dt.datetime(2024, 6, 3)
    with pytest.raises(PayloadError) as error:
        validate_frame(WSB_MENTIONS_SCHEMA, frame, "reddit")
    assert error.value.field == "known_date" and error.value.row == 1
